package deliver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/spooler"
)

// policyTTL is how long the relay's policy is trusted before it is read
// again.
const policyTTL = 5 * time.Minute

// policyCache keeps the relay's policy for a while.
type policyCache struct {
	mu  sync.Mutex
	at  time.Time
	cur relayapi.Policy
}

// Policy returns the relay's sending policy (cached for a few minutes),
// for the release form's bounds and the archive key.
func (s *Stages) Policy(ctx context.Context) (relayapi.Policy, error) {
	s.policy.mu.Lock()
	defer s.policy.mu.Unlock()
	if !s.policy.at.IsZero() && time.Since(s.policy.at) < policyTTL {
		return s.policy.cur, nil
	}
	c, err := s.opt.Relay()
	if err != nil {
		return relayapi.Policy{}, err
	}
	p, err := c.Policy(ctx)
	if err != nil {
		return relayapi.Policy{}, err
	}
	s.policy.cur, s.policy.at = p, time.Now()
	return p, nil
}

// archiveKey returns the policy's archive key, nil when there is none. A
// policy that cannot be read fails the seal (retried): sealing without a
// required archive copy would be refused by the relay anyway.
func (s *Stages) archiveKey(ctx context.Context) (*envelope.Key, error) {
	p, err := s.Policy(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the relay's policy: %w", err)
	}
	if p.ArchiveKey == "" {
		return nil, nil
	}
	keys, err := envelope.ReadKeys(strings.NewReader(p.ArchiveKey))
	if err != nil || len(keys) != 1 {
		return nil, spooler.Permanent(errors.New("the relay's archive key cannot be read"))
	}
	k := keys[0]
	if !strings.EqualFold(k.Fingerprint(), p.ArchiveFingerprint) {
		return nil, spooler.Permanent(errors.New("the relay's archive key does not match its fingerprint"))
	}
	return k, nil
}
