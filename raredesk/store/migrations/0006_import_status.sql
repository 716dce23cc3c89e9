-- Imports commit chunk by chunk (memory stays bounded at millions of records); a file
-- is 'importing' until its last commit and is removed whole if the import fails, is
-- cancelled or is interrupted (see raredesk.store.importer.recover_interrupted).
ALTER TABLE files ADD COLUMN status VARCHAR DEFAULT 'imported';
-- PED members without genotypes (e.g. an untested grandparent) have no sample column group.
ALTER TABLE samples ALTER COLUMN sample_index DROP NOT NULL;
