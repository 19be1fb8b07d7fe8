-- Organisation tokens and bound sender keys: an organisation token
-- (kind 'org') enrols senders; a sender's key_fpr is its bound signing key,
-- verified once its address is proven or approved.
ALTER TABLE senders
	ADD COLUMN kind       text NOT NULL DEFAULT 'sender',
	ADD COLUMN org        text NOT NULL DEFAULT '',
	ADD COLUMN expires_at timestamptz,
	ADD COLUMN revoked_at timestamptz,
	ADD COLUMN uses_left  integer NOT NULL DEFAULT -1,
	ADD COLUMN parent     text NOT NULL DEFAULT '',
	ADD COLUMN key_fpr    text NOT NULL DEFAULT '',
	ADD COLUMN verified   boolean NOT NULL DEFAULT false;

-- Signed checkpoints: records since the last one, and the last one's line.
ALTER TABLE audit_head
	ADD COLUMN since           bigint NOT NULL DEFAULT 0,
	ADD COLUMN last_checkpoint text NOT NULL DEFAULT '';

-- Which download a receipt's one-time token came with.
ALTER TABLE receipts ADD COLUMN download integer NOT NULL DEFAULT 0;
