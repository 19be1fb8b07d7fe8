package keyserver

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentPublishing: many clients uploading, verifying and looking
// up at once leave a consistent directory: each address names exactly one
// key, and that key is one whose owner verified it.
func TestConcurrentPublishing(t *testing.T) {
	ts := newTestServer(t, func(o *Options) {
		o.RequestsPerClient = 1 << 20
		o.MailsPerAddress = 1 << 20
		o.MailsPerClient = 1 << 20
	})
	const workers = 6
	var wg sync.WaitGroup
	fprs := make(chan string, workers)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Half the workers compete for one address.
			email := "shared@x.example"
			if i%2 == 1 {
				email = fmt.Sprintf("own%d@x.example", i)
			}
			e := newEntity(t, fmt.Sprintf("W%d", i), email)
			up := ts.upload(t, armorPublic(t, e))
			ts.postJSON(t, "/vks/v1/request-verify", map[string]any{"token": up["token"], "addresses": []string{email}})
			var link string
			ts.mail.mu.Lock()
			for _, m := range ts.mail.msgs {
				if m.To[0] == email && strings.Contains(m.Text, hexOf(e.PrimaryKey.Fingerprint)) {
					link = linkIn(t, m.Text)
				}
			}
			ts.mail.mu.Unlock()
			follow(t, link)
			ts.get(t, "/vks/v1/by-email/"+email)
			fprs <- hexOf(e.PrimaryKey.Fingerprint)
		}(i)
	}
	wg.Wait()
	close(fprs)
	published := 0
	for f := range fprs {
		rec, err := ts.store.Get(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range rec.Verified {
			if v == "shared@x.example" {
				published++
			}
		}
	}
	if published != 1 {
		t.Fatalf("shared address published on %d keys, want 1", published)
	}
	got, _ := ts.store.ByEmail(t.Context(), "shared@x.example")
	if len(got) != 1 {
		t.Fatalf("index names %d keys for the shared address", len(got))
	}
}
