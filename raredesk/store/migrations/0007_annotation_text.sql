-- Annotation values (VEP CSQ, SnpEff ANN/EFF, bcftools BCSQ) are stored as written,
-- one row per record and key, in case_<id>_annotations; case_<id>_transcripts is a view
-- that splits them. This records, per file and key, the header's field list and the
-- transcript column of each sub-field, from which the view is built.
CREATE TABLE annotation_sources (
    case_id INTEGER NOT NULL,
    file_id INTEGER NOT NULL,
    info_key VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    fields VARCHAR[],
    columns VARCHAR[]
);
