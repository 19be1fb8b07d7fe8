package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sealprint/sealprint/internal/atomicfile"
	"github.com/sealprint/sealprint/relayapi"
)

// maxPolicyFile bounds policy.json (an archive key is a few KiB).
const maxPolicyFile = 256 << 10

// maxReplySizeLimit bounds the policy's reply size (the relay's own
// --max-size bounds it further).
const maxReplySizeLimit = 16 << 30

// PolicyFile is the organisation's policy in the data dir.
func (d DataDir) PolicyFile() string { return filepath.Join(d.Root, "policy.json") }

// LoadPolicy reads a policy file; a missing file is the empty policy.
func LoadPolicy(path string) (relayapi.Policy, error) {
	var p relayapi.Policy
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("policy: %w", err)
	}
	if len(b) > maxPolicyFile {
		return p, errors.New("policy: file too large")
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("policy %s: %w", path, err)
	}
	return p, CheckPolicy(&p)
}

// SavePolicy checks p and writes it atomically.
func SavePolicy(path string, p relayapi.Policy) error {
	if err := CheckPolicy(&p); err != nil {
		return err
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o600)
}

// CheckPolicy validates p and fills its archive fingerprint.
func CheckPolicy(p *relayapi.Policy) error {
	if len(p.AllowedDomains) > 100 {
		return errors.New("policy: at most 100 allowed domains")
	}
	for i, d := range p.AllowedDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		host := strings.TrimPrefix(d, "*.")
		if host == "" || len(host) > 253 || strings.ContainsAny(host, "*@/ ") || !strings.Contains(host, ".") {
			return fmt.Errorf("policy: %q is not a domain or *.domain", truncate(d, 60))
		}
		p.AllowedDomains[i] = d
	}
	if p.MaxExpirySeconds < 0 || p.MaxExpirySeconds > int64(MaxExpiry/time.Second) {
		return fmt.Errorf("policy: max expiry must be at most %s", MaxExpiry)
	}
	if p.MaxDownloads < 0 || p.MaxDownloads > maxDownloadsLimit {
		return fmt.Errorf("policy: max downloads must be at most %d", maxDownloadsLimit)
	}
	if p.MaxReplySize < 0 || p.MaxReplySize > maxReplySizeLimit {
		return fmt.Errorf("policy: max reply size must be between 0 and %d bytes", int64(maxReplySizeLimit))
	}
	p.ArchiveFingerprint = ""
	if p.ArchiveKey != "" {
		ids, fpr, err := archiveKeyIDs(p.ArchiveKey)
		if err != nil {
			return fmt.Errorf("policy: archive key: %w", err)
		}
		if len(ids) == 0 {
			return errors.New("policy: the archive key has no encryption key")
		}
		p.ArchiveFingerprint = fpr
	}
	return nil
}

// domainAllowed reports whether addr's domain matches one of the
// patterns: "x.fr" exactly, "*.x.fr" any subdomain of x.fr.
func domainAllowed(patterns []string, addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return false
	}
	dom := strings.ToLower(addr[at+1:])
	for _, p := range patterns {
		if sub, ok := strings.CutPrefix(p, "*."); ok {
			if strings.HasSuffix(dom, "."+sub) {
				return true
			}
		} else if dom == p {
			return true
		}
	}
	return false
}

// policyError is a drop refused by a policy rule (403).
type policyError struct {
	rule, msg string
}

func (e *policyError) Error() string { return e.msg + " (policy rule " + e.rule + ")" }

// applyPolicy checks a create request against p and bounds the defaults
// the sender left to the relay.
func applyPolicy(p relayapi.Policy, req *validatedCreate) error {
	if len(p.AllowedDomains) > 0 {
		if len(req.Recipients) == 0 {
			return &policyError{relayapi.RuleAllowedDomains, "recipients are required: the organisation allows only some domains"}
		}
		for _, r := range req.Recipients {
			if !domainAllowed(p.AllowedDomains, r) {
				return &policyError{relayapi.RuleAllowedDomains, fmt.Sprintf("recipient %s: domain not allowed by the organisation (%s)", r, strings.Join(p.AllowedDomains, ", "))}
			}
		}
	}
	if p.MaxExpirySeconds > 0 {
		max := time.Duration(p.MaxExpirySeconds) * time.Second
		if req.ExpiresInSeconds == 0 && req.expiresIn > max {
			req.expiresIn = max
		}
		if req.expiresIn > max {
			return &policyError{relayapi.RuleMaxExpiry, fmt.Sprintf("expiry longer than the organisation allows (%s)", max)}
		}
	}
	if p.MaxDownloads > 0 {
		if req.MaxDownloads == nil && (req.maxDownloads == 0 || req.maxDownloads > p.MaxDownloads) {
			req.maxDownloads = p.MaxDownloads
		}
		if req.maxDownloads == 0 || req.maxDownloads > p.MaxDownloads {
			return &policyError{relayapi.RuleMaxDownloads, fmt.Sprintf("download limit must be between 1 and %d", p.MaxDownloads)}
		}
	}
	if p.LinkNeedsCode && req.Mode == relayapi.ModeLink && req.AccessCode == "" {
		return &policyError{relayapi.RuleLinkNeedsCode, "a link-mode drop needs an access code"}
	}
	return nil
}

// policySource reads the policy file again when it changes, so that
// 'sealrelay policy set' takes effect without a restart.
type policySource struct {
	path string
	mu   sync.Mutex
	mod  time.Time
	size int64
	cur  relayapi.Policy
	err  error
}

// get returns the current policy. A policy file that cannot be read
// fails closed: the error refuses drops until it is fixed.
func (s *policySource) get() (relayapi.Policy, error) {
	if s == nil || s.path == "" {
		return relayapi.Policy{}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.cur, s.err, s.mod, s.size = relayapi.Policy{}, nil, time.Time{}, -1
		return s.cur, nil
	case err != nil:
		return relayapi.Policy{}, err
	}
	if !st.ModTime().Equal(s.mod) || st.Size() != s.size {
		s.cur, s.err = LoadPolicy(s.path)
		s.mod, s.size = st.ModTime(), st.Size()
	}
	return s.cur, s.err
}

// handlePolicy serves GET /api/v1/policy (read-only, public: the rules
// are no secret, and clients need them before they authenticate).
func (s *Server) handlePolicy(w http.ResponseWriter, r *http.Request) {
	p, err := s.policy.get()
	if err != nil {
		s.internalError(w, r, "policy", err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// refusePolicy answers a policy refusal: 403 naming the rule.
func (s *Server) refusePolicy(w http.ResponseWriter, r *http.Request, err error) {
	var pe *policyError
	if !errors.As(err, &pe) {
		s.internalError(w, r, "policy check", err)
		return
	}
	s.log.InfoContext(r.Context(), "drop refused by policy", "rule", pe.rule)
	writeJSON(w, http.StatusForbidden, relayapi.Error{Error: pe.Error(), Rule: pe.rule})
}

// checkArchiveUpload refuses a finished upload that the policy's archive
// key cannot open.
func (s *Server) checkArchiveUpload(ctx context.Context, id string) error {
	p, err := s.policy.get()
	if err != nil || p.ArchiveKey == "" {
		return err
	}
	f, err := s.uploads.open(ctx, id)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	return checkArchive(head[:n], p.ArchiveKey)
}
