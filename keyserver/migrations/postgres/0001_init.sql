-- The key directory in PostgreSQL: one row per key, its index entries
-- (key IDs, verified addresses, WKD hashes), tokens and allowed domains.
CREATE TABLE keydir_records (
	fingerprint text PRIMARY KEY,
	record      jsonb NOT NULL
);
CREATE TABLE keydir_index (
	entry       text NOT NULL,
	fingerprint text NOT NULL REFERENCES keydir_records(fingerprint) ON DELETE CASCADE,
	PRIMARY KEY (entry, fingerprint)
);
CREATE INDEX keydir_index_fpr ON keydir_index (fingerprint);
CREATE TABLE keydir_tokens (
	hash    text PRIMARY KEY,
	token   jsonb NOT NULL,
	expires timestamptz NOT NULL
);
CREATE INDEX keydir_tokens_expires ON keydir_tokens (expires);
CREATE TABLE keydir_domains (
	domain text PRIMARY KEY
);
