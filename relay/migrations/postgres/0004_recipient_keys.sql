-- The keys a drop is encrypted to, as its sender stated them (JSON list of
-- relayapi.RecipientKey; '' when not stated), checked against the
-- message's key packets at completion.
ALTER TABLE drops ADD COLUMN recipient_keys text NOT NULL DEFAULT '';

-- A receipt signed by a recipient's own key: the signer's fingerprint, the
-- OpenPGP signature of the receipt statement (base64) and the time it
-- states; '' (NULL) for a receipt that is only the session-key HMAC.
ALTER TABLE receipts
	ADD COLUMN signer    text NOT NULL DEFAULT '',
	ADD COLUMN signature text NOT NULL DEFAULT '',
	ADD COLUMN signed_at timestamptz;
