package relay

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/relayapi"
)

func TestAuditChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	a, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for i, ev := range []string{EventCreate, EventUpload, EventComplete, EventDownload} {
		if err := a.Record(context.Background(), AuditEvent{At: at, Event: ev, Drop: "d1", Count: i}); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()
	// Reopening continues the chain.
	a, err = OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Record(context.Background(), AuditEvent{At: at, Event: EventExpire, Drop: "d1"}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b, _ := os.ReadFile(path)
	if n, err := VerifyAudit(bytes.NewReader(b)); err != nil || n != 5 {
		t.Fatalf("VerifyAudit = %d, %v", n, err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	for name, tampered := range map[string]string{
		"edited":   strings.Replace(string(b), `"event":"download"`, `"event":"revoke"`, 1),
		"removed":  lines[0] + lines[1] + lines[3] + lines[4],
		"reorder":  lines[1] + lines[0] + lines[2] + lines[3] + lines[4],
		"garbage":  string(b) + "not json\n",
		"injected": lines[0] + `{"seq":2,"at":"2026-11-23T12:00:00Z","event":"x","prev":"` + zeroHash + `"}` + "\n",
	} {
		if _, err := VerifyAudit(strings.NewReader(tampered)); !errors.Is(err, ErrAuditBroken) {
			t.Errorf("%s: VerifyAudit = %v", name, err)
		}
	}
	// A broken log refuses to open: the relay does not extend a broken chain.
	os.WriteFile(path, []byte(lines[1]), 0o600)
	if _, err := OpenAuditLog(path); err == nil {
		t.Fatal("broken log opened")
	}
}

func TestAuditOfAFullFlow(t *testing.T) {
	h := newHarness(t)
	id := h.ready(randomBytes(t, 10), relayapi.CreateDropRequest{AccessCode: "12345678", Mode: "link"})
	h.do("POST", "/api/v1/drops/"+id+"/code", map[string]string{"code": "00000000"})
	h.do("DELETE", "/api/v1/drops/"+id, nil, h.auth()...)
	f, err := os.Open(h.data.AuditLog())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pub, err := LoadAuditPublicKey(h.data.AuditKey())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := VerifySignedAudit(f, pub)
	if err != nil || rep.Records != 7 || rep.Checkpoints != 2 || rep.Unsigned != 0 {
		t.Fatalf("VerifySignedAudit = %+v, %v", rep, err)
	}
	var events []string
	for _, e := range h.auditEvents() {
		events = append(events, e.Event)
	}
	if got := strings.Join(events, ","); got != "create,upload,complete,checkpoint,code_failure,revoke,checkpoint" {
		t.Fatalf("events %s", got)
	}
}

// A crash mid-write leaves an unfinished last line: it is cut off, noted
// in the chain, and the chain goes on.
func TestAuditTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	a, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{EventCreate, EventUpload} {
		a.Record(context.Background(), AuditEvent{At: time.Now(), Event: ev, Drop: "d1"})
	}
	a.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":3,"at":"2026-11-23T12:00:00Z","ev`)
	f.Close()
	a, err = OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	a.Record(context.Background(), AuditEvent{At: time.Now(), Event: EventComplete, Drop: "d1"})
	a.Close()
	b, _ := os.ReadFile(path)
	if n, err := VerifyAudit(bytes.NewReader(b)); err != nil || n != 4 {
		t.Fatalf("VerifyAudit = %d, %v\n%s", n, err, b)
	}
	if !strings.Contains(string(b), `"event":"torn_tail","count":40`) {
		t.Fatalf("no torn_tail event:\n%s", b)
	}
}
