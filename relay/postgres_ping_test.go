package relay

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Readiness does not wait for a pool connection: with every connection of
// the pool taken (a replica busy with requests), Ping still answers.
func TestPGPingWithPoolExhausted(t *testing.T) {
	st, _ := openTestPG(t, PGOptions{MaxConns: 2})
	var held []*pgxpool.Conn
	for i := 0; i < 2; i++ {
		c, err := st.Pool().Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	defer func() {
		for _, c := range held {
			c.Release()
		}
	}()
	// Generous: the point is not speed but not queueing behind the pool,
	// which would wait for ever here.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("Ping with the pool exhausted: %v", err)
	}
}
