package keyserver

import (
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
)

// testStoreTakeToken is the contract of TakeToken for stores that may be
// shared (each of stores is one process's handle on the same data): of
// many concurrent takes of one single-use token, spread over the
// handles, exactly one gets it; a take of the wrong kind or of an
// expired token gets nothing and leaves the token as it was.
func testStoreTakeToken(t *testing.T, stores ...Store) {
	ctx := t.Context()
	s := stores[0]
	for round := 0; round < 5; round++ {
		_, hash, err := newToken(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tok := &Token{Hash: hash, Kind: tokenVerify, Fingerprint: "F", Email: "a@x.example", Expires: time.Now().Add(time.Hour)}
		if err := s.PutToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := stores[len(stores)-1].TakeToken(ctx, hash, tokenManage); !errors.Is(err, ErrNotFound) {
			t.Fatalf("take of the wrong kind: %v", err)
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		won := 0
		start := make(chan struct{})
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				got, err := stores[i%len(stores)].TakeToken(ctx, hash, tokenVerify)
				switch {
				case err == nil:
					if got.Email != tok.Email || got.Kind != tokenVerify {
						t.Errorf("took %+v", got)
					}
					mu.Lock()
					won++
					mu.Unlock()
				case !errors.Is(err, ErrNotFound):
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if won != 1 {
			t.Fatalf("round %d: %d of 16 concurrent takes got the single-use token, want 1", round, won)
		}
		if _, err := s.GetToken(ctx, hash); !errors.Is(err, ErrNotFound) {
			t.Fatalf("token still there after it was taken: %v", err)
		}
	}
	_, hash, _ := newToken(rand.Reader)
	if err := s.PutToken(ctx, &Token{Hash: hash, Kind: tokenManage, Expires: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeToken(ctx, hash, tokenManage); !errors.Is(err, ErrNotFound) {
		t.Fatalf("take of an expired token: %v", err)
	}
}

func TestFileStoreTakeToken(t *testing.T) {
	dir := t.TempDir()
	var stores []Store
	for i := 0; i < 2; i++ {
		s, err := OpenFileStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	testStoreTakeToken(t, stores...)
}

// Two replicas' stores on one database: a verification or management link
// posted to both at once is consumed once.
func TestPGStoreTakeToken(t *testing.T) {
	url := testutil.SharedPostgres(t).NewDB(t)
	testStoreTakeToken(t, openTestPGStore(t, url), openTestPGStore(t, url))
}
