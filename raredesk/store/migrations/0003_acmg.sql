-- ACMG/AMP classification (issue 6): reviewer workflow, cross-case knowledge base,
-- report citations and the hash-chained audit log.
-- No PRIMARY KEY/UNIQUE constraints on tables that are updated: DuckDB checks them
-- eagerly inside a transaction (a row updated twice, or deleted and restored by an
-- undo, would fail); raredesk.acmg.review keeps the keys unique instead.
-- Times are UTC ISO 8601 text, the exact strings the audit hashes cover.

CREATE SEQUENCE acmg_classification_id_seq START 1;

CREATE SEQUENCE acmg_command_id_seq START 1;

CREATE TABLE acmg_classifications (
    classification_id INTEGER NOT NULL,
    case_id INTEGER NOT NULL,
    variant_id BIGINT,
    build VARCHAR,
    vkey VARCHAR NOT NULL,
    gene VARCHAR,
    transcript VARCHAR,
    hgvsc VARCHAR,
    hgvsp VARCHAR,
    status VARCHAR NOT NULL,
    analyst VARCHAR NOT NULL,
    reviewer VARCHAR,
    signer VARCHAR,
    final_class VARCHAR,
    summary VARCHAR,
    computed_class VARCHAR,
    points INTEGER,
    criteria_labels VARCHAR,
    supersedes INTEGER,
    engine_snapshot VARCHAR,
    created_at VARCHAR NOT NULL,
    updated_at VARCHAR NOT NULL,
    reviewed_at VARCHAR,
    signed_at VARCHAR
);

CREATE TABLE acmg_criteria (
    classification_id INTEGER NOT NULL,
    code VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    origin VARCHAR NOT NULL,
    strength VARCHAR,
    suggested_strength VARCHAR,
    reason VARCHAR,
    evidence VARCHAR,
    comment VARCHAR,
    updated_by VARCHAR,
    updated_at VARCHAR
);

CREATE TABLE acmg_commands (
    command_id BIGINT NOT NULL,
    classification_id INTEGER,
    kind VARCHAR NOT NULL,
    actor VARCHAR NOT NULL,
    done_at VARCHAR NOT NULL,
    changes VARCHAR NOT NULL,
    undone_by BIGINT,
    undoes BIGINT,
    audit_seq BIGINT
);

CREATE TABLE acmg_settings (
    key VARCHAR NOT NULL,
    value VARCHAR
);

CREATE TABLE report_citations (
    report_id VARCHAR NOT NULL,
    case_id INTEGER,
    classification_id INTEGER NOT NULL,
    build VARCHAR,
    vkey VARCHAR NOT NULL,
    cited_class VARCHAR NOT NULL,
    report_status VARCHAR NOT NULL,
    cited_by VARCHAR NOT NULL,
    cited_at VARCHAR NOT NULL
);

CREATE TABLE audit_log (
    seq BIGINT NOT NULL,
    logged_at VARCHAR NOT NULL,
    actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    entity_id VARCHAR,
    before VARCHAR,
    after VARCHAR,
    prev_hash VARCHAR NOT NULL,
    hash VARCHAR NOT NULL
);

CREATE TABLE audit_head (
    seq BIGINT NOT NULL,
    hash VARCHAR NOT NULL
);
