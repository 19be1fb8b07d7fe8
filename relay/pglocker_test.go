package relay

import (
	"context"
	"errors"
	"testing"
	"time"

	tushandler "github.com/tus/tusd/v2/pkg/handler"
)

// Two replicas' lockers on one database: B waiting for an upload A holds
// makes A's tusd release it (requestRelease), then B gets it; while A
// keeps it, B times out with tusd's ErrLockTimeout.
func TestPGLocker(t *testing.T) {
	_, url := openTestPG(t, PGOptions{})
	ctx := context.Background()
	a, err := NewPGLocker(ctx, url, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewPGLocker(ctx, url, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	la, _ := a.NewLock("up1")
	released := make(chan struct{}, 1)
	if err := la.Lock(ctx, func() { released <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	// A keeps the lock: B gives up when its context ends.
	lb, _ := b.NewLock("up1")
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	err = lb.Lock(short, func() {})
	cancel()
	if !errors.Is(err, tushandler.ErrLockTimeout) {
		t.Fatalf("lock held elsewhere: %v, want ErrLockTimeout", err)
	}
	select {
	case <-released:
	case <-time.After(10 * time.Second):
		t.Fatal("holder never asked to release")
	}
	// Another upload's lock is independent.
	lo, _ := b.NewLock("up2")
	if err := lo.Lock(ctx, func() {}); err != nil {
		t.Fatal(err)
	}
	lo.Unlock()

	// Now A releases when asked.
	go func() {
		<-released
		la.Unlock()
	}()
	long, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := lb.Lock(long, func() {}); err != nil {
		t.Fatalf("lock after release request: %v", err)
	}
	if err := lb.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := lb.Unlock(); err == nil {
		t.Fatal("double unlock accepted")
	}
}
