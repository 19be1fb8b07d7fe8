package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/uploader"
)

func newStages(t *testing.T) (*Stages, *envelope.Key, *envelope.Key) {
	t.Helper()
	signer, err := envelope.GenerateKey("Dr Alice", "alice@hospital.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := envelope.GenerateKey("Bob", "bob@police.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := New(Options{Signer: signer,
		Recipients: func(_ context.Context, addrs []string) ([]*envelope.Key, error) {
			var keys []*envelope.Key
			for _, a := range addrs {
				if a != "bob@police.example" {
					return nil, errors.New("no key")
				}
				keys = append(keys, bob.Public())
			}
			return keys, nil
		},
		Relay: func() (*uploader.Client, error) { return policyOnly(t), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, signer, bob
}

// policyOnly is a relay client to a server that answers only its (empty)
// policy.
func policyOnly(t *testing.T) *uploader.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/policy" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}"))
	}))
	t.Cleanup(srv.Close)
	c, err := uploader.New(srv.URL, "spt_x", uploader.Options{Proxy: "direct"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sealJob(t *testing.T, st *Stages, j *spooler.Job) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := st.Seal(context.Background(), j, &out)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("%PDF-1.7 report"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// A link-mode job is sealed to its secret, for an address with no key;
// the deadline and reference ride inside; a key-mode job to the key.
func TestSealModesAndCover(t *testing.T) {
	st, signer, bob := newStages(t)
	secret, _ := envelope.NewLinkSecret()
	deadline := time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC)
	link := &spooler.Job{Name: "r", Recipients: []string{"opj@nokey.example"}, LinkSecret: secret,
		Send: &spooler.SendOptions{Mode: spooler.ModeLink, Deadline: deadline, Reference: "PV 7"}}
	ct := sealJob(t, st, link)
	m, err := envelope.Open(bytes.NewReader(ct), &bytes.Buffer{}, envelope.OpenOptions{Secret: secret, Verifiers: []*envelope.Key{signer.Public()}})
	if err != nil || !m.Cover.Deadline.Equal(deadline) || m.Cover.Reference != "PV 7" {
		t.Fatalf("%v %+v", err, m)
	}
	key := &spooler.Job{Name: "r", Recipients: []string{"bob@police.example"}}
	ct = sealJob(t, st, key)
	if _, err := envelope.Open(bytes.NewReader(ct), &bytes.Buffer{}, envelope.OpenOptions{Keys: []*envelope.Key{bob}, Verifiers: []*envelope.Key{signer.Public()}}); err != nil {
		t.Fatal(err)
	}
	bad := &spooler.Job{Name: "r", Recipients: []string{"x@y.example"}, Send: &spooler.SendOptions{Mode: spooler.ModeLink}}
	if _, err := st.Seal(context.Background(), bad, &bytes.Buffer{}); err == nil || !spooler.IsPermanent(err) {
		t.Fatalf("link mode without secret: %v", err)
	}
}

func TestDropRequest(t *testing.T) {
	three := 3
	r := dropRequest(spooler.Delivery{JobID: "j", Recipients: []string{"a@b.example"}, AccessCode: "12345678",
		Options: spooler.SendOptions{Mode: spooler.ModeLink, Code: true, ExpiresIn: 48 * time.Hour, MaxDownloads: &three}}, "PUB")
	if r.Mode != relayapi.ModeLink || !r.Notify || r.AccessCode != "12345678" || r.ExpiresInSeconds != 48*3600 || *r.MaxDownloads != 3 {
		t.Fatalf("%+v", r)
	}
	r = dropRequest(spooler.Delivery{JobID: "j", AccessCode: "ignored"}, "PUB")
	if r.Mode != relayapi.ModeKey || !r.Notify || r.AccessCode != "" || r.MaxDownloads != nil || r.ExpiresInSeconds != 0 || r.ReplyVerifier != "" {
		t.Fatalf("%+v", r)
	}
	// With the session key, recipients may reply: the relay gets only the
	// verifier, never the key.
	sk := []byte("0123456789abcdef0123456789abcdef")
	r = dropRequest(spooler.Delivery{JobID: "j", SessionKey: sk}, "PUB")
	if r.ReplyVerifier != envelope.ReplyVerifier(sk) || strings.Contains(fmt.Sprintf("%+v", r), string(sk)) {
		t.Fatalf("reply verifier %q", r.ReplyVerifier)
	}
}
