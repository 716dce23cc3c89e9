-- Reviewer decisions per variant: a flag, tags and a free-text note, keyed by
-- case and normalised variant key (vkey) so they survive a re-import of the
-- same calls. Every change is also appended to variant_review_log.
CREATE TABLE variant_review (
    case_id INTEGER NOT NULL,
    vkey VARCHAR NOT NULL,
    flagged BOOLEAN NOT NULL DEFAULT FALSE,
    tags VARCHAR[] NOT NULL DEFAULT [],
    note VARCHAR NOT NULL DEFAULT '',
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_by VARCHAR,
    PRIMARY KEY (case_id, vkey)
);
CREATE SEQUENCE review_event_seq START 1;
CREATE TABLE variant_review_log (
    event_id BIGINT NOT NULL DEFAULT nextval('review_event_seq'),
    case_id INTEGER NOT NULL,
    vkey VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    old_value VARCHAR,
    new_value VARCHAR,
    changed_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    changed_by VARCHAR
);
