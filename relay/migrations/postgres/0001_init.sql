-- The relay's schema for PostgreSQL: senders, drops, receipts and the
-- hash-chained audit log with its single head row.
CREATE TABLE senders (
	id         text PRIMARY KEY,
	name       text NOT NULL,
	email      text NOT NULL DEFAULT '',
	token_hash bytea NOT NULL UNIQUE,
	created_at timestamptz NOT NULL
);

CREATE TABLE drops (
	id              text PRIMARY KEY,
	sender_id       text NOT NULL REFERENCES senders(id),
	idempotency_key text NOT NULL DEFAULT '',
	size            bigint NOT NULL CHECK (size >= 0),
	sha256          text NOT NULL,
	recipients      jsonb NOT NULL,
	mode            text NOT NULL,
	created_at      timestamptz NOT NULL,
	expires_at      timestamptz NOT NULL,
	max_downloads   integer NOT NULL CHECK (max_downloads >= 0),
	downloads       integer NOT NULL DEFAULT 0 CHECK (downloads >= 0),
	code_hash       text NOT NULL DEFAULT '',
	code_failures   integer NOT NULL DEFAULT 0 CHECK (code_failures >= 0),
	state           text NOT NULL,
	sender_key      text NOT NULL DEFAULT '',
	sender_fpr      text NOT NULL DEFAULT '',
	notify          boolean NOT NULL DEFAULT false,
	ready_at        timestamptz,
	locked_at       timestamptz,
	updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX drops_idempotency ON drops (sender_id, idempotency_key) WHERE idempotency_key <> '';
CREATE INDEX drops_sweep ON drops (expires_at) WHERE state IN ('pending', 'ready');
CREATE INDEX drops_created ON drops (created_at DESC, id);

CREATE TABLE receipts (
	seq     bigserial PRIMARY KEY,
	drop_id text NOT NULL REFERENCES drops(id),
	at      timestamptz NOT NULL,
	proof   text NOT NULL
);
CREATE INDEX receipts_drop ON receipts (drop_id, seq);

-- audit holds each line exactly as the file-based log writes it, so that
-- one verifier checks both. audit_head is the only row appenders lock:
-- the chain follows commit order, not sequence allocation order.
CREATE TABLE audit (
	seq  bigint PRIMARY KEY,
	line text NOT NULL
);
CREATE TABLE audit_head (
	one  boolean PRIMARY KEY DEFAULT true CHECK (one),
	seq  bigint NOT NULL,
	hash text NOT NULL
);
INSERT INTO audit_head (seq, hash) VALUES (0, repeat('0', 64));

-- Secrets every replica must share (the download-grant key), created once.
CREATE TABLE secrets (
	name  text PRIMARY KEY,
	value bytea NOT NULL
);
