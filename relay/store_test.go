package relay

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealprint/sealprint/relayapi"
)

// testStoreContract checks the behaviour every Store must have; a shared
// database implementation runs the same function.
func testStoreContract(t *testing.T, st Store) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	snd, _, err := CreateSender(ctx, st, "Dr Durand", "durand@hospital.example", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SenderByTokenHash(ctx, TokenHash("spt_nope")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	got, err := st.SenderByTokenHash(ctx, snd.TokenHash)
	if err != nil || got.ID != snd.ID || got.Name != snd.Name || got.Email != snd.Email || !got.CreatedAt.Equal(now) {
		t.Fatalf("SenderByTokenHash = %+v, %v", got, err)
	}
	if _, err := st.Drop(ctx, "AAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown drop: %v", err)
	}

	mk := func(id, key string, expires time.Time, max int) *Drop {
		return &Drop{ID: id, SenderID: snd.ID, IdempotencyKey: key, Size: 10, SHA256: "ab",
			Recipients: []string{"a@b.example"}, Mode: "key", CreatedAt: now, ExpiresAt: expires,
			MaxDownloads: max, State: StatePending, Notify: true}
	}
	d1 := mk("d1AAAAAAAAAAAAAAAAAAAA", "job-1", now.Add(time.Hour), 3)
	keys := []relayapi.RecipientKey{{Fingerprint: strings.Repeat("A", 40), EncryptionKey: strings.Repeat("B", 40), Address: "a@b.example"},
		{Fingerprint: strings.Repeat("C", 64), EncryptionKey: strings.Repeat("D", 64)}}
	d1.RecipientKeys = keys
	if _, created, err := st.CreateDrop(ctx, d1); err != nil || !created {
		t.Fatalf("CreateDrop = %v, %v", created, err)
	}
	old, created, err := st.CreateDrop(ctx, mk("d2AAAAAAAAAAAAAAAAAAAA", "job-1", now, 1))
	if err != nil || created || old.ID != d1.ID {
		t.Fatalf("same idempotency key: %v, %v, %v", old, created, err)
	}
	if d, err := st.DropByIdempotencyKey(ctx, snd.ID, "job-1"); err != nil || d.ID != d1.ID {
		t.Fatalf("DropByIdempotencyKey = %v, %v", d, err)
	}
	if _, err := st.DropByIdempotencyKey(ctx, snd.ID, ""); !errors.Is(err, ErrNotFound) {
		t.Fatal("empty key found a drop")
	}
	// Drops without a key never collide.
	for _, id := range []string{"d3AAAAAAAAAAAAAAAAAAAA", "d4AAAAAAAAAAAAAAAAAAAA"} {
		if _, created, err := st.CreateDrop(ctx, mk(id, "", now.Add(-time.Minute), 0)); err != nil || !created {
			t.Fatalf("CreateDrop %s = %v, %v", id, created, err)
		}
	}
	d, err := st.Drop(ctx, d1.ID)
	if err != nil || d.Size != 10 || d.Recipients[0] != "a@b.example" || !d.Notify || !d.ExpiresAt.Equal(d1.ExpiresAt) || !d.ReadyAt.IsZero() {
		t.Fatalf("Drop = %+v, %v", d, err)
	}
	if !slices.Equal(d.RecipientKeys, keys) {
		t.Fatalf("recipient keys stored %+v, want %+v", d.RecipientKeys, keys)
	}
	if d, _ := st.Drop(ctx, "d3AAAAAAAAAAAAAAAAAAAA"); d == nil || d.RecipientKeys != nil {
		t.Fatalf("a drop without recipient keys reads back %+v", d)
	}

	// Updates are atomic: parallel increments all count.
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.UpdateDrop(ctx, d1.ID, func(d *Drop) error { d.Downloads++; return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// A failing update stores nothing.
	boom := errors.New("boom")
	if _, err := st.UpdateDrop(ctx, d1.ID, func(d *Drop) error { d.Downloads = 0; return boom }); !errors.Is(err, boom) {
		t.Fatalf("UpdateDrop error = %v", err)
	}
	d, err = st.UpdateDrop(ctx, d1.ID, func(d *Drop) error {
		d.State, d.ReadyAt, d.CodeFailures = StateReady, now, 2
		return nil
	})
	if err != nil || d.Downloads != 20 {
		t.Fatalf("after updates: %+v, %v", d, err)
	}
	if d, _ = st.Drop(ctx, d1.ID); d.State != StateReady || !d.ReadyAt.Equal(now) || d.CodeFailures != 2 || d.Downloads != 20 {
		t.Fatalf("stored %+v", d)
	}

	// Sweep candidates: expired (d3, d4) and over their limit (d1).
	sweep, err := st.DropsToSweep(ctx, now)
	if err != nil || len(sweep) != 3 {
		t.Fatalf("DropsToSweep = %d drops, %v", len(sweep), err)
	}
	st.UpdateDrop(ctx, "d3AAAAAAAAAAAAAAAAAAAA", func(d *Drop) error { d.State = StateExpired; return nil })
	if sweep, _ = st.DropsToSweep(ctx, now); len(sweep) != 2 {
		t.Fatalf("swept drop listed again: %d", len(sweep))
	}

	testCountLimits(t, st, mk)

	for i, p := range []string{"01", "02"} {
		r := relayapi.Receipt{At: now.Add(time.Duration(i) * time.Second), Proof: p}
		if i == 1 { // signed with a recipient's key, with a link secret's proof
			r.Signer, r.Signature, r.SignedAt = strings.Repeat("A", 40), "c2ln", now.Add(-time.Minute)
			r.LinkProof = strings.Repeat("ab", 32)
		}
		if err := st.AddReceipt(ctx, d1.ID, r); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := st.Receipts(ctx, d1.ID)
	if err != nil || len(rs) != 2 || rs[0].Proof != "01" || rs[1].Proof != "02" || !rs[1].At.Equal(now.Add(time.Second)) {
		t.Fatalf("Receipts = %+v, %v", rs, err)
	}
	if rs[0].LinkProof != "" || rs[1].LinkProof != strings.Repeat("ab", 32) {
		t.Fatalf("link proofs stored %q, %q", rs[0].LinkProof, rs[1].LinkProof)
	}
	if rs[0].Signer != "" || !rs[0].SignedAt.IsZero() || rs[1].Signer != strings.Repeat("A", 40) || rs[1].Signature != "c2ln" || !rs[1].SignedAt.Equal(now.Add(-time.Minute)) {
		t.Fatalf("signed receipts stored %+v", rs)
	}
	if rs, err := st.Receipts(ctx, "d4AAAAAAAAAAAAAAAAAAAA"); err != nil || rs == nil || len(rs) != 0 {
		t.Fatalf("no receipts: %v, %v", rs, err)
	}
	all, err := st.Drops(ctx)
	if err != nil || len(all) != 5 {
		t.Fatalf("Drops = %d, %v", len(all), err)
	}
	testReplies(t, st, mk, now)
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// testReplies: replies are drops tied to the drop they answer, listed in
// order for it only, with the reply verifier kept.
func testReplies(t *testing.T, st Store, mk func(id, key string, expires time.Time, max int) *Drop, now time.Time) {
	ctx := context.Background()
	orig := mk("o1AAAAAAAAAAAAAAAAAAAA", "", now.Add(time.Hour), 5)
	orig.ReplyVerifier = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	if _, _, err := st.CreateDrop(ctx, orig); err != nil {
		t.Fatal(err)
	}
	if d, err := st.Drop(ctx, orig.ID); err != nil || d.ReplyVerifier != orig.ReplyVerifier || d.IsReply() {
		t.Fatalf("original = %+v, %v", d, err)
	}
	if rs, err := st.Replies(ctx, orig.ID); err != nil || len(rs) != 0 {
		t.Fatalf("Replies before any = %v, %v", rs, err)
	}
	for i, id := range []string{"r2AAAAAAAAAAAAAAAAAAAA", "r1AAAAAAAAAAAAAAAAAAAA"} {
		r := mk(id, "", now.Add(48*time.Hour), 0)
		r.Mode, r.ReplyTo, r.Recipients = relayapi.ModeReply, orig.ID, nil
		r.CreatedAt = now.Add(time.Duration(i) * time.Minute)
		if _, created, err := st.CreateDrop(ctx, r); err != nil || !created {
			t.Fatalf("CreateDrop reply %s = %v, %v", id, created, err)
		}
	}
	rs, err := st.Replies(ctx, orig.ID)
	if err != nil || len(rs) != 2 || rs[0].ID != "r2AAAAAAAAAAAAAAAAAAAA" || rs[1].ID != "r1AAAAAAAAAAAAAAAAAAAA" ||
		rs[0].ReplyTo != orig.ID || rs[0].Mode != relayapi.ModeReply || !rs[1].CreatedAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("Replies = %+v, %v", rs, err)
	}
	if rs, err := st.Replies(ctx, "d1AAAAAAAAAAAAAAAAAAAA"); err != nil || len(rs) != 0 {
		t.Fatalf("replies of a drop without: %v, %v", rs, err)
	}
	// An update keeps the tie.
	if d, err := st.UpdateDrop(ctx, "r1AAAAAAAAAAAAAAAAAAAA", func(d *Drop) error { d.State = StateReady; return nil }); err != nil || d.ReplyTo != orig.ID {
		t.Fatalf("updated reply = %+v, %v", d, err)
	}
}

// testCountLimits checks that the download limit and the access-code
// attempt limit hold exactly under parallel callers.
func testCountLimits(t *testing.T, st Store, mk func(id, key string, expires time.Time, max int) *Drop) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	lim := mk("d5AAAAAAAAAAAAAAAAAAAA", "", now.Add(time.Hour), 3)
	lim.State = StateReady
	lim.CodeHash = "x"
	if _, _, err := st.CreateDrop(ctx, lim); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	won := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := st.CountDownload(ctx, lim.ID, now, nil)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			if ok {
				won++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if d, _ := st.Drop(ctx, lim.ID); won != 3 || d.Downloads != 3 {
		t.Fatalf("8 parallel downloads of a 3-download drop: %d counted, stored %d", won, d.Downloads)
	}
	if _, ok, err := st.CountDownload(ctx, "d3AAAAAAAAAAAAAAAAAAAA", now, nil); ok || err != nil {
		t.Fatalf("download of an expired drop counted: %v, %v", ok, err)
	}

	outcomes := map[Attempt]int{}
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, o, err := st.CountCodeAttempt(ctx, lim.ID, 5, nil)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			outcomes[o]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	d, err := st.Drop(ctx, lim.ID)
	if err != nil || outcomes[AttemptCounted] != 5 || outcomes[AttemptLocked] != 1 || outcomes[AttemptRefused] != 4 ||
		d.CodeFailures != 5 || d.State != StateLocked {
		t.Fatalf("10 parallel attempts, limit 5: %v; stored %d failures, %s (%v)", outcomes, d.CodeFailures, d.State, err)
	}
	pend := mk("d6AAAAAAAAAAAAAAAAAAAA", "", now.Add(time.Hour), 0)
	if _, _, err := st.CreateDrop(ctx, pend); err != nil {
		t.Fatal(err)
	}
	if _, o, err := st.CountCodeAttempt(ctx, pend.ID, 5, nil); o != AttemptRefused || err != nil {
		t.Fatalf("attempt on a pending drop: %v, %v", o, err)
	}
	if _, _, err := st.CountDownload(ctx, "AAAAAAAAAAAAAAAAAAAAAA", now, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("download of a missing drop: %v", err)
	}
}

func TestSQLiteStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relay.db")
	st, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	testStoreContract(t, st)
	st.Close()
	// Data survives reopening; a second handle (admin command) sees it.
	st, err = OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	other, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	// 5 drops, an original with replies and its 2 replies (testReplies).
	if all, err := other.Drops(context.Background()); err != nil || len(all) != 8 {
		t.Fatalf("reopened: %d drops, %v", len(all), err)
	}
	var mode string
	st.db.QueryRow("PRAGMA journal_mode").Scan(&mode)
	var sync int
	st.db.QueryRow("PRAGMA synchronous").Scan(&sync)
	if mode != "wal" || sync != 2 {
		t.Fatalf("journal_mode %q synchronous %d, want wal and FULL (2)", mode, sync)
	}
}
