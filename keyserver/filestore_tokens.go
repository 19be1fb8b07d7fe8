package keyserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sealprint/sealprint/internal/atomicfile"
)

func (s *FileStore) tokenPath(hash string) (string, error) {
	if !hashPattern.MatchString(hash) {
		return "", ErrNotFound
	}
	return filepath.Join(s.dir, "tokens", hash+".json"), nil
}

// PutToken implements Store. Every 256th call also sweeps expired tokens.
func (s *FileStore) PutToken(ctx context.Context, t *Token) error {
	p, err := s.tokenPath(t.Hash)
	if err != nil {
		return fmt.Errorf("put token: bad hash")
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(p, b, 0o600); err != nil {
		return fmt.Errorf("put token: %w", err)
	}
	s.mu.Lock()
	s.puts++
	sweep := s.puts%256 == 0
	s.mu.Unlock()
	if sweep {
		s.sweepTokens()
	}
	return nil
}

func (s *FileStore) sweepTokens() {
	dir := filepath.Join(s.dir, "tokens")
	ents, _ := os.ReadDir(dir)
	now := s.now()
	for _, e := range ents {
		hash, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		if t, err := s.readToken(hash); err == nil && now.After(t.Expires) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func (s *FileStore) readToken(hash string) (*Token, error) {
	p, err := s.tokenPath(hash)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	var t Token
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("parse token: %w", err)
	}
	return &t, nil
}

// GetToken implements Store.
func (s *FileStore) GetToken(ctx context.Context, hash string) (*Token, error) {
	t, err := s.readToken(hash)
	if err != nil {
		return nil, err
	}
	if s.now().After(t.Expires) {
		return nil, ErrNotFound
	}
	return t, nil
}

// DeleteToken implements Store.
func (s *FileStore) DeleteToken(ctx context.Context, hash string) error {
	p, err := s.tokenPath(hash)
	if err != nil {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete token: %w", err)
	}
	return atomicfile.SyncDir(filepath.Dir(p))
}

// TakeToken implements Store: the token file's removal is the claim
// (of concurrent removals of one file exactly one succeeds).
func (s *FileStore) TakeToken(ctx context.Context, hash, kind string) (*Token, error) {
	t, err := s.GetToken(ctx, hash)
	if err != nil {
		return nil, err
	}
	if t.Kind != kind {
		return nil, ErrNotFound
	}
	p, err := s.tokenPath(hash)
	if err != nil {
		return nil, err
	}
	if err := os.Remove(p); errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("take token: %w", err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(p)); err != nil {
		return nil, fmt.Errorf("take token: %w", err)
	}
	return t, nil
}
