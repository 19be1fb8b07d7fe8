package keyserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sealprint/sealprint/internal/atomicfile"
	"github.com/sealprint/sealprint/internal/filelock"
)

// FileStore is the embedded Store: one JSON file per key and per token,
// and index entries as empty files, all written atomically under a
// directory (by default DATA/keys).
//
//	certs/<FPR>.json            records
//	index/<sha256(key)>/<FPR>   index entries (key IDs, addresses, WKD hashes)
//	tokens/<sha256 hex>.json    tokens
//	domains.json                domains allowed to publish (optional)
//	store.lock                  held while a key and its index change
//
// A change to a key reads its old index entries and rewrites them: that is
// done under store.lock (a file lock), so that `sealrelay keys …` and the
// running relay, two processes, never interleave two changes of one key.
type FileStore struct {
	dir string
	now func() time.Time

	mu   sync.RWMutex
	puts int
}

var fprPattern = regexp.MustCompile(`^[0-9A-F]{16,64}$`)
var hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// OpenFileStore opens (creating if needed) a file store in dir.
func OpenFileStore(dir string) (*FileStore, error) {
	for _, sub := range []string{"certs", "index", "tokens"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("open key store: %w", err)
		}
	}
	return &FileStore{dir: dir, now: time.Now}, nil
}

func (s *FileStore) certPath(fpr string) (string, error) {
	if !fprPattern.MatchString(fpr) {
		return "", ErrNotFound
	}
	return filepath.Join(s.dir, "certs", fpr+".json"), nil
}

func indexDir(dir, key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(dir, "index", hex.EncodeToString(sum[:]))
}

// Get implements Store.
func (s *FileStore) Get(ctx context.Context, fpr string) (*Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.get(fpr)
}

func (s *FileStore) get(fpr string) (*Record, error) {
	p, err := s.certPath(fpr)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", fpr, err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("parse key record %s: %w", fpr, err)
	}
	return &r, nil
}

// Put implements Store. The record is written before new index entries and
// stale entries are removed last, so a crash leaves at worst an index entry
// pointing at a record that no longer lists it; readers check the record.
func (s *FileStore) Put(ctx context.Context, r *Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := s.lockFiles()
	if err != nil {
		return fmt.Errorf("put key: %w", err)
	}
	defer unlock()
	p, err := s.certPath(r.Fingerprint)
	if err != nil {
		return fmt.Errorf("put key: bad fingerprint %q", r.Fingerprint)
	}
	var oldKeys []string
	if old, err := s.get(r.Fingerprint); err == nil {
		oldKeys = indexKeys(old)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(p, b, 0o600); err != nil {
		return fmt.Errorf("put key %s: %w", r.Fingerprint, err)
	}
	newKeys := indexKeys(r)
	want := map[string]bool{}
	newDirs := false
	for _, k := range newKeys {
		want[k] = true
		created, err := s.addIndex(k, r.Fingerprint)
		if err != nil {
			return err
		}
		newDirs = newDirs || created
	}
	if newDirs {
		if err := atomicfile.SyncDir(filepath.Join(s.dir, "index")); err != nil {
			return fmt.Errorf("index key: %w", err)
		}
	}
	for _, k := range oldKeys {
		if !want[k] {
			s.removeIndex(k, r.Fingerprint)
		}
	}
	return nil
}

// lockFiles waits for store.lock, which other processes using the same
// directory take too; s.mu is held.
func (s *FileStore) lockFiles() (func(), error) {
	l, err := filelock.Acquire(filepath.Join(s.dir, "store.lock"))
	if err != nil {
		return nil, err
	}
	return func() { l.Unlock() }, nil
}

// addIndex adds one index entry and makes it durable; it reports whether
// the entry's directory was created (its parent then needs a sync).
func (s *FileStore) addIndex(key, fpr string) (bool, error) {
	d := indexDir(s.dir, key)
	if _, err := os.Stat(filepath.Join(d, fpr)); err == nil {
		return false, nil
	}
	_, statErr := os.Stat(d)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return false, fmt.Errorf("index key: %w", err)
	}
	// An empty file: only its directory entry needs to reach the disk.
	f, err := os.OpenFile(filepath.Join(d, fpr), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return false, fmt.Errorf("index key: %w", err)
	}
	f.Close()
	if err := atomicfile.SyncDir(d); err != nil {
		return false, fmt.Errorf("index key: %w", err)
	}
	return statErr != nil, nil
}

func (s *FileStore) removeIndex(key, fpr string) {
	d := indexDir(s.dir, key)
	os.Remove(filepath.Join(d, fpr))
	os.Remove(d) // only succeeds when empty
	atomicfile.SyncDir(filepath.Join(s.dir, "index"))
}

// Delete implements Store.
func (s *FileStore) Delete(ctx context.Context, fpr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := s.lockFiles()
	if err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	defer unlock()
	old, err := s.get(fpr)
	if err != nil {
		return err
	}
	p, _ := s.certPath(fpr)
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("delete key %s: %w", fpr, err)
	}
	for _, k := range indexKeys(old) {
		s.removeIndex(k, fpr)
	}
	return atomicfile.SyncDir(filepath.Dir(p))
}

// lookup returns the fingerprints indexed under key whose record still
// carries that entry.
func (s *FileStore) lookup(key string) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ents, err := os.ReadDir(indexDir(s.dir, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	var out []string
	for _, e := range ents {
		fpr := e.Name()
		if strings.HasPrefix(fpr, ".") {
			continue
		}
		r, err := s.get(fpr)
		if err != nil {
			continue
		}
		for _, k := range indexKeys(r) {
			if k == key {
				out = append(out, fpr)
				break
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// ByEmail implements Store.
func (s *FileStore) ByEmail(ctx context.Context, email string) ([]string, error) {
	return s.lookup("email:" + email)
}

// ByKeyID implements Store.
func (s *FileStore) ByKeyID(ctx context.Context, id string) ([]string, error) {
	return s.lookup("id:" + strings.ToUpper(id))
}

// ByWKD implements Store.
func (s *FileStore) ByWKD(ctx context.Context, domain, hash string) ([]string, error) {
	return s.lookup("wkd:" + strings.ToLower(domain) + "/" + hash)
}

// List implements Store.
func (s *FileStore) List(ctx context.Context) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ents, err := os.ReadDir(filepath.Join(s.dir, "certs"))
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	var out []string
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && fprPattern.MatchString(name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// AllowedDomains implements DomainPolicy: the domains saved by
// SetAllowedDomains, or nil (every domain) when none were.
func (s *FileStore) AllowedDomains() ([]string, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "domains.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read allowed domains: %w", err)
	}
	var d []string
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("parse allowed domains: %w", err)
	}
	return d, nil
}

// SetAllowedDomains saves the domains allowed to publish; an empty list
// allows every domain.
func (s *FileStore) SetAllowedDomains(domains []string) error {
	p := filepath.Join(s.dir, "domains.json")
	if len(domains) == 0 {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	var clean []string
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSpace(d))
		if NormalizeEmail("x@"+d) == "" {
			return fmt.Errorf("bad domain %q", d)
		}
		clean = append(clean, d)
	}
	b, _ := json.Marshal(clean)
	return atomicfile.WriteFile(p, b, 0o600)
}
