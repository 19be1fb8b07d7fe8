-- Secure replies: a reply is a drop tied to the drop it answers
-- (reply_to); reply_verifier is the SHA-256 of the reply key the sender
-- derived from the drop's session key ('' : the drop takes no replies).
ALTER TABLE drops
	ADD COLUMN reply_to       text NOT NULL DEFAULT '',
	ADD COLUMN reply_verifier text NOT NULL DEFAULT '';
CREATE INDEX drops_reply_to ON drops (reply_to) WHERE reply_to <> '';
