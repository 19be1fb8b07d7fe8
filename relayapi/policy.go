package relayapi

// Policy is the organisation's sending policy, served read-only at
// GET /api/v1/policy. Clients enforce it in their forms; the relay
// enforces it at drop creation and completion (403 naming the rule).
type Policy struct {
	// AllowedDomains lists the recipient domains allowed: "justice.fr"
	// is that domain only, "*.interieur.gouv.fr" its subdomains only.
	// Empty: any domain.
	AllowedDomains []string `json:"allowed_domains,omitempty"`
	// MaxExpirySeconds bounds a drop's lifetime (0: the relay's maximum).
	MaxExpirySeconds int64 `json:"max_expiry_seconds,omitempty"`
	// MaxDownloads bounds a drop's download limit; a drop must then have
	// one (0: no bound).
	MaxDownloads int `json:"max_downloads,omitempty"`
	// LinkNeedsCode refuses link-mode drops without an access code.
	LinkNeedsCode bool `json:"link_needs_code,omitempty"`
	// ArchiveKey is the organisation's archive public key (armored): every
	// document must also be encrypted to it. ArchiveFingerprint is its
	// primary key's fingerprint (uppercase hex).
	ArchiveKey         string `json:"archive_key,omitempty"`
	ArchiveFingerprint string `json:"archive_fingerprint,omitempty"`
	// MaxReplySize bounds a reply's ciphertext in bytes (0: the relay's
	// default, 64 MiB; never above the relay's own size limit).
	MaxReplySize int64 `json:"max_reply_size,omitempty"`
}

// Policy rules, as named in a 403 answer's Error.Rule.
const (
	RuleAllowedDomains = "allowed-domains"
	RuleMaxExpiry      = "max-expiry"
	RuleMaxDownloads   = "max-downloads"
	RuleLinkNeedsCode  = "link-needs-code"
	RuleArchiveKey     = "archive-key"
)
