-- Allele recounts from the reads (BAM/CRAM) of each sample, per case and variant.
-- Keyed by case, normalised variant key (vkey) and sample id, so they survive a
-- re-import of the same calls; alignment_sig (size:mtime of the file) and the
-- filters tell when a recount is out of date. flag lists where the VCF and the
-- reads disagree (NULL when they agree); see raredesk/store/recount.py.
CREATE TABLE read_recounts (
    case_id INTEGER NOT NULL,
    vkey VARCHAR NOT NULL,
    sample_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    ref_fwd INTEGER,
    ref_rev INTEGER,
    alt_fwd INTEGER,
    alt_rev INTEGER,
    other_fwd INTEGER,
    other_rev INTEGER,
    depth INTEGER,
    vaf DOUBLE,
    vcf_gt TINYINT,
    vcf_ad_ref INTEGER,
    vcf_ad_alt INTEGER,
    flag VARCHAR,
    message VARCHAR,
    min_bq SMALLINT NOT NULL,
    min_mapq SMALLINT NOT NULL,
    alignment_path VARCHAR,
    alignment_sig VARCHAR,
    counted_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (case_id, vkey, sample_id)
);
