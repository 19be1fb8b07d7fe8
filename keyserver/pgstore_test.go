package keyserver

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.StopSharedPostgres()
	os.Exit(code)
}

func openTestPGStore(t *testing.T, url string) *PGStore {
	t.Helper()
	s, err := OpenPGStore(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPGStoreIndexes(t *testing.T) {
	s := openTestPGStore(t, testutil.SharedPostgres(t).NewDB(t))
	testStoreIndexes(t, s)
	if err := s.SetAllowedDomains([]string{"Chu-Lyon.example", "police.example"}); err != nil {
		t.Fatal(err)
	}
	if d, err := s.AllowedDomains(); err != nil || len(d) != 2 || d[0] != "chu-lyon.example" {
		t.Fatalf("AllowedDomains = %v, %v", d, err)
	}
	s.SetAllowedDomains(nil)
	if d, _ := s.AllowedDomains(); d != nil {
		t.Fatalf("cleared domains: %v", d)
	}
}

func TestPGStoreTokens(t *testing.T) {
	ctx := t.Context()
	s := openTestPGStore(t, testutil.SharedPostgres(t).NewDB(t))
	now, advance := fixedClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s.now = now
	_, hash, _ := newToken(zeroReader{})
	if err := s.PutToken(ctx, &Token{Hash: hash, Kind: tokenVerify, Expires: now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if tok, err := s.GetToken(ctx, hash); err != nil || tok.Kind != tokenVerify {
		t.Fatal(err)
	}
	advance(2 * time.Hour)
	if _, err := s.GetToken(ctx, hash); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired token: %v", err)
	}
	if err := s.DeleteToken(ctx, hash); err != nil {
		t.Fatal(err)
	}
}

// Two replicas publishing one address to different keys at once: the
// changes are serialized in the database, so the address ends up on
// exactly one key and the index agrees.
func TestPGStoreReplicasPublish(t *testing.T) {
	url := testutil.SharedPostgres(t).NewDB(t)
	dirs := []*directory{
		{store: openTestPGStore(t, url), now: time.Now},
		{store: openTestPGStore(t, url), now: time.Now},
	}
	const keys = 6
	var fprs []string
	for i := 0; i < keys; i++ {
		e := newEntity(t, fmt.Sprintf("K%d", i), "shared@x.example")
		c, err := ParseCert(bytes.NewReader(serializePublic(t, e)))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := dirs[i%2].add(t.Context(), c, false); err != nil {
			t.Fatal(err)
		}
		fprs = append(fprs, c.Fingerprint())
	}
	var wg sync.WaitGroup
	for round := 0; round < 3; round++ {
		for i, f := range fprs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := dirs[(i+round)%2].publish(t.Context(), f, "shared@x.example"); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	published := 0
	for _, f := range fprs {
		rec, err := dirs[0].store.Get(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range rec.Verified {
			if v == "shared@x.example" {
				published++
			}
		}
	}
	got, _ := dirs[1].store.ByEmail(t.Context(), "shared@x.example")
	if published != 1 || len(got) != 1 {
		t.Fatalf("shared address on %d records, %d in the index; want 1 and 1", published, len(got))
	}
}
