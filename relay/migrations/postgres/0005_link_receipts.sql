-- A link-mode receipt's second HMAC, keyed from the link secret that
-- opened the drop: with one secret per recipient, the sender tells by it
-- which recipient opened ('' when none was posted). The relay never sees
-- a secret and cannot make or check this value.
ALTER TABLE receipts ADD COLUMN link_proof text NOT NULL DEFAULT '';
