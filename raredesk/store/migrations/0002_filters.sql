-- Migration 2: gene panels, user filter presets and saved filters (issue 3).
--
-- panels        one row per imported gene list / BED / PanelApp export
-- panel_genes   the gene symbols of a panel (with PanelApp confidence and mode of inheritance)
-- panel_regions the intervals of a BED panel: 0-based half-open, contig names canonical (1..22, X, Y, MT)
-- case_panels   panels assigned to a case; the filter language reaches them as `gene in case_panels`
-- filter_presets user presets (shipped presets live in resources/presets and are not copied here)
-- saved_filters  a named filter of one case (or of every case when case_id is NULL), with sort and columns

CREATE SEQUENCE panel_id_seq START 1;

CREATE TABLE panels (
    panel_id INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL UNIQUE,
    kind VARCHAR NOT NULL,
    description VARCHAR,
    version VARCHAR,
    source_path VARCHAR,
    source_sha256 VARCHAR,
    build VARCHAR,
    n_genes INTEGER DEFAULT 0,
    n_regions INTEGER DEFAULT 0,
    unknown_symbols VARCHAR[],
    imported_at TIMESTAMP DEFAULT current_timestamp
);

CREATE TABLE panel_genes (
    panel_id INTEGER NOT NULL,
    symbol VARCHAR NOT NULL,
    confidence VARCHAR,
    mode_of_inheritance VARCHAR,
    hgnc_id VARCHAR,
    ensembl_id VARCHAR,
    PRIMARY KEY (panel_id, symbol)
);

CREATE TABLE panel_regions (
    panel_id INTEGER NOT NULL,
    chrom VARCHAR NOT NULL,
    "start" BIGINT NOT NULL,
    "end" BIGINT NOT NULL,
    name VARCHAR
);

CREATE TABLE case_panels (
    case_id INTEGER NOT NULL,
    panel_id INTEGER NOT NULL,
    assigned_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (case_id, panel_id)
);

CREATE TABLE filter_presets (
    name VARCHAR PRIMARY KEY,
    title VARCHAR,
    description VARCHAR,
    filter VARCHAR NOT NULL,
    settings JSON,
    sort VARCHAR,
    created_at TIMESTAMP DEFAULT current_timestamp,
    updated_at TIMESTAMP DEFAULT current_timestamp
);

CREATE SEQUENCE saved_filter_id_seq START 1;

CREATE TABLE saved_filters (
    filter_id INTEGER PRIMARY KEY,
    case_id INTEGER,
    name VARCHAR NOT NULL,
    filter VARCHAR,
    preset VARCHAR,
    sort VARCHAR,
    columns VARCHAR,
    created_at TIMESTAMP DEFAULT current_timestamp,
    updated_at TIMESTAMP DEFAULT current_timestamp
);
