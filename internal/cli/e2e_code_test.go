package cli

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// TestCodeBySMSThroughRealRelay: 'sealprint send --link --code --code-to
// sms:…' with a real 'sealrelay serve --sms-gateway': a recording HTTP
// server in the provider's place receives exactly one request carrying
// the code and the number; the relay's data dir and logs do not hold the
// code; the recipient opens the document with it.
func TestCodeBySMSThroughRealRelay(t *testing.T) {
	testutil.NeedIntegration(t)
	var mu sync.Mutex
	var reqs []string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, r.Header.Get("Authorization")+" "+string(b))
		mu.Unlock()
		w.Write([]byte(`{"ok":true}`))
	}))
	defer gw.Close()
	relay := startRelayProc(t, "--sms-gateway", gw.URL+"/v1/sms", "--sms-auth", "bearer:GW-SECRET",
		"--sms-body", `{"to":"{to}","message":"Code {code} ({sender}, jusqu'au {expires})"}`)
	doctor, stranger := newPerson(t), newPerson(t)
	doctor.must("keys", "generate", "--name", "Dr Durand", "--email", "durand@chu.example")
	doctor.must("enroll", "--relay", relay.url, "--token", relay.token(t, "Dr Durand"))
	os.WriteFile(filepath.Join(doctor.dir, "report.pdf"), []byte("%PDF-1.7\nrapport\n"), 0o644)

	doctor.fails("--code-to goes with --code", "send", "report.pdf", "--link", "--code-to", "sms:+33612345678", "--to", "a@b.example")
	doctor.fails("international phone number", "send", "report.pdf", "--link", "--code", "--code-to", "sms:0612", "--to", "a@b.example")
	r := doctor.send("report.pdf", "--link", "--code", "--code-to", "sms:+33612345678", "--to", "opj@police.example")
	if len(r.Code) != 8 || !strings.HasPrefix(r.CodeSentTo, "sms:+33") {
		t.Fatalf("send result %+v", r)
	}
	mu.Lock()
	got := append([]string(nil), reqs...)
	mu.Unlock()
	if len(got) != 1 || !strings.HasPrefix(got[0], "Bearer GW-SECRET ") || !strings.Contains(got[0], `"to":"+33612345678"`) ||
		!strings.Contains(got[0], "Code "+r.Code) || !strings.Contains(got[0], "Dr Durand") {
		t.Fatalf("gateway got %q", got)
	}
	filepath.Walk(relay.data, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(r.Code)) {
				t.Errorf("relay file %s holds the code", p)
			}
		}
		return err
	})
	if strings.Contains(relay.logs.String(), r.Code) || strings.Contains(relay.logs.String(), "GW-SECRET") {
		t.Error("the relay's logs hold the code or the gateway token")
	}
	out := stranger.must("open", r.Link, "-o", "got.pdf", "--code", r.Code)
	if !strings.Contains(out, "Dr Durand") {
		t.Fatalf("open printed %q", out)
	}
}
