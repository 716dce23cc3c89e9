"""Workspace schema and its migrations.

Global tables hold cases, samples, files and knowledge sources. The variants
of a case live in per-case tables created by the importer:

``case_<id>_variants``
    one row per ALT allele (multi-allelic records split), the picked transcript,
    typed scores, every INFO field (``info_<NAME>`` columns typed from the
    header, see ``info_fields``) and, per sample ``i`` of the case, a group of
    genotype columns ``s<i>_gt`` (0 hom_ref, 1 het, 2 hom_alt, NULL missing),
    ``s<i>_gt_raw``, ``s<i>_phased``, ``s<i>_ad_ref``, ``s<i>_ad_alt``,
    ``s<i>_dp``, ``s<i>_gq``, ``s<i>_ps``, ``s<i>_ab`` and ``s<i>_raw`` (the
    sample's FORMAT values as written). Wide genotype columns keep inheritance
    filters to plain column predicates at millions of rows.
``case_<id>_transcripts``
    one row per transcript annotation (VEP CSQ, SnpEff ANN/EFF, bcftools BCSQ)
    matched to its ALT allele, with the raw annotation text kept.
``case_<id>_genotypes``
    a view giving the genotypes in long form (one row per variant and sample).

Migrations are applied in order inside one transaction each; ``schema_version``
records what was applied.
"""

from __future__ import annotations

import duckdb

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "cases, samples, files, contigs, INFO fields, import warnings, knowledge sources", [
        """CREATE SEQUENCE case_id_seq START 1""",
        """CREATE SEQUENCE file_id_seq START 1""",
        """CREATE SEQUENCE source_id_seq START 1""",
        """CREATE TABLE cases (
            case_id INTEGER PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            proband VARCHAR,
            sex VARCHAR,
            indication VARCHAR,
            hpo_terms VARCHAR[],
            consent_secondary BOOLEAN DEFAULT FALSE,
            build VARCHAR,
            reference_path VARCHAR,
            status VARCHAR DEFAULT 'new',
            n_variants BIGINT DEFAULT 0,
            n_samples INTEGER DEFAULT 0,
            created_at TIMESTAMP DEFAULT current_timestamp,
            updated_at TIMESTAMP DEFAULT current_timestamp
        )""",
        """CREATE TABLE samples (
            case_id INTEGER NOT NULL,
            sample_index INTEGER NOT NULL,
            sample_id VARCHAR NOT NULL,
            family_id VARCHAR,
            father_id VARCHAR,
            mother_id VARCHAR,
            role VARCHAR,
            sex VARCHAR,
            affected BOOLEAN,
            alignment_path VARCHAR,
            PRIMARY KEY (case_id, sample_id)
        )""",
        """CREATE TABLE files (
            file_id INTEGER PRIMARY KEY,
            case_id INTEGER,
            path VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            size BIGINT,
            sha256 VARCHAR,
            mtime TIMESTAMP,
            imported_at TIMESTAMP DEFAULT current_timestamp,
            records BIGINT,
            variant_rows BIGINT,
            details JSON
        )""",
        """CREATE TABLE contigs (
            case_id INTEGER NOT NULL,
            file_id INTEGER NOT NULL,
            name VARCHAR NOT NULL,
            canonical VARCHAR NOT NULL,
            length BIGINT
        )""",
        """CREATE TABLE info_fields (
            case_id INTEGER NOT NULL,
            name VARCHAR NOT NULL,
            column_name VARCHAR NOT NULL,
            number VARCHAR,
            declared_type VARCHAR,
            stored_type VARCHAR,
            description VARCHAR,
            declared BOOLEAN,
            PRIMARY KEY (case_id, name)
        )""",
        """CREATE TABLE annotation_fields (
            case_id INTEGER NOT NULL,
            source VARCHAR NOT NULL,
            info_key VARCHAR NOT NULL,
            fields VARCHAR[],
            columns VARCHAR[],
            PRIMARY KEY (case_id, source)
        )""",
        """CREATE TABLE import_warnings (
            case_id INTEGER,
            file_id INTEGER,
            kind VARCHAR,
            field VARCHAR,
            count BIGINT,
            example VARCHAR,
            message VARCHAR
        )""",
        """CREATE TABLE knowledge_sources (
            source_id INTEGER PRIMARY KEY,
            kind VARCHAR NOT NULL,
            path VARCHAR,
            size BIGINT,
            sha256 VARCHAR,
            file_date VARCHAR,
            build VARCHAR,
            records BIGINT,
            imported_at TIMESTAMP DEFAULT current_timestamp
        )""",
        """CREATE TABLE case_annotations (
            case_id INTEGER NOT NULL,
            source_id INTEGER NOT NULL,
            kind VARCHAR,
            matched BIGINT,
            applied_at TIMESTAMP DEFAULT current_timestamp
        )""",
    ]),
]

def _file_migrations() -> list[tuple[int, str, list[str]]]:
    """Migrations 2.. as SQL files ``raredesk/store/migrations/NNNN_name.sql``.

    One file per area keeps parallel work out of each other's way; statements
    are separated by lines holding only ``;``-terminated SQL (split on ``;\n``).
    """
    import re
    from pathlib import Path

    out = []
    folder = Path(__file__).with_name("migrations")
    for f in sorted(folder.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        number = int(f.name[:4])
        text = f.read_text(encoding="utf-8")
        text = re.sub(r"--[^\n]*", "", text)
        statements = [s.strip() for s in text.split(";\n") if s.strip().rstrip(";").strip()]
        statements = [s.rstrip(";") for s in statements]
        out.append((number, f.stem[5:].replace("_", " "), statements))
    return out


MIGRATIONS += _file_migrations()
_numbers = [m[0] for m in MIGRATIONS]
assert _numbers == sorted(set(_numbers)), f"migration numbers must be unique and increasing: {_numbers}"
LATEST = MIGRATIONS[-1][0]


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_version' AND database_name = current_database()"
    ).fetchone()[0]
    if not exists:
        return 0
    v = con.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    return int(v or 0)


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply pending migrations; return the resulting version."""
    from raredesk.errors import WorkspaceError

    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, description VARCHAR, "
                "applied_at TIMESTAMP DEFAULT current_timestamp)")
    version = current_version(con)
    if version > LATEST:
        raise WorkspaceError(f"workspace schema v{version} is newer than this RareDesk (v{LATEST}); upgrade RareDesk")
    # Apply every migration not recorded yet (not only those above the highest): files
    # written in parallel can land out of number order.
    applied = {r[0] for r in con.execute("SELECT version FROM schema_version").fetchall()}
    for number, description, statements in MIGRATIONS:
        if number in applied:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            for sql in statements:
                con.execute(sql)
            con.execute("INSERT INTO schema_version (version, description) VALUES (?, ?)", [number, description])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        version = number
    return version
