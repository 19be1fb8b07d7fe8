-- A drop in a terminal state (expired, exhausted, revoked, locked) whose
-- data_deleted is false is "deleting": its objects may still exist. The
-- sweeper claims such rows with FOR UPDATE SKIP LOCKED, deletes the
-- objects (idempotent) and sets data_deleted ("deleted").
ALTER TABLE drops ADD COLUMN data_deleted boolean NOT NULL DEFAULT false;
CREATE INDEX drops_deleting ON drops (updated_at)
	WHERE state IN ('expired', 'exhausted', 'revoked', 'locked') AND NOT data_deleted;
