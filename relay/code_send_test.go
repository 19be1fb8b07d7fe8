package relay

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sealprint/sealprint/relayapi"
)

// gatewayRecorder stands in for an SMS provider's HTTP API.
type gatewayRecorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	auth, ctype, body string
}

func (g *gatewayRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	g.reqs = append(g.reqs, recorded{r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)})
	g.mu.Unlock()
	w.Write([]byte(`{"status":"queued"}`))
}

// The sender hands the code once; the relay checks it against the hash,
// sends exactly one SMS with the code and the number, and forgets it: the
// link mail lacks it, and neither the data dir nor the logs hold it.
func TestCodeBySMS(t *testing.T) {
	gw := &gatewayRecorder{}
	gts := httptest.NewServer(gw)
	defer gts.Close()
	var logs bytes.Buffer
	h := newHarness(t, func(c *Config) {
		c.SMS = &SMSGateway{URL: gts.URL + "/sms", Auth: "bearer:GWTOKEN",
			Body: `{"to":"{to}","text":"Code {code} pour le document de {sender}, valable jusqu'au {expires}"}`}
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	const code = "73914208"
	id := h.ready(randomBytes(t, 64), relayapi.CreateDropRequest{Mode: "link", AccessCode: code, Notify: true,
		Recipients: []string{"opj@police.example"}})
	send := func(req relayapi.CodeSendRequest, hdr ...string) (*http.Response, []byte) {
		return h.do("POST", "/api/v1/drops/"+id+"/code/send", req, hdr...)
	}
	// Refused: no auth, a wrong code, a bad number, the link's own address.
	resp, body := send(relayapi.CodeSendRequest{Code: code, To: "sms:+33612345678"})
	expect(t, resp, body, http.StatusUnauthorized)
	resp, body = send(relayapi.CodeSendRequest{Code: "00000000", To: "sms:+33612345678"}, h.auth()...)
	expect(t, resp, body, http.StatusBadRequest)
	resp, body = send(relayapi.CodeSendRequest{Code: code, To: "sms:0612345678"}, h.auth()...)
	expect(t, resp, body, http.StatusBadRequest)
	resp, body = send(relayapi.CodeSendRequest{Code: code, To: "mail:opj@police.example"}, h.auth()...)
	expect(t, resp, body, http.StatusBadRequest)
	if len(gw.reqs) != 0 {
		t.Fatal("refused requests reached the gateway")
	}

	resp, body = send(relayapi.CodeSendRequest{Code: code, To: "sms:+33612345678"}, h.auth()...)
	got := decode[relayapi.CodeSendResponse](t, expect(t, resp, body, http.StatusOK))
	if got.SentVia != "sms" || strings.Contains(got.To, "612345") {
		t.Fatalf("%+v", got)
	}
	if len(gw.reqs) != 1 {
		t.Fatalf("gateway got %d requests", len(gw.reqs))
	}
	r := gw.reqs[0]
	if r.auth != "Bearer GWTOKEN" || r.ctype != "application/json" || !strings.Contains(r.body, `"to":"+33612345678"`) ||
		!strings.Contains(r.body, code) || !strings.Contains(r.body, "Dr Durand") {
		t.Fatalf("gateway request %+v", r)
	}
	// The link mail does not carry the code.
	h.waitMail()
	m := h.mail.next(t)
	if m.To[0] != "opj@police.example" || strings.Contains(m.Text+m.HTML, code) {
		t.Fatalf("link mail to %v carries the code:\n%s", m.To, m.Text)
	}
	// Nothing on disk or in the logs holds the code in clear.
	filepath.Walk(h.dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(code)) {
				t.Errorf("%s holds the code", p)
			}
		}
		return err
	})
	if strings.Contains(logs.String(), code) {
		t.Error("the logs hold the code")
	}
	// The code is sent once.
	resp, body = send(relayapi.CodeSendRequest{Code: code, To: "sms:+33612345678"}, h.auth()...)
	expect(t, resp, body, http.StatusTooManyRequests)
}

// A form template gets URL-escaped values; the code can also go by mail
// to a second address, in a mail of its own.
func TestCodeByFormAndMail(t *testing.T) {
	gw := &gatewayRecorder{}
	gts := httptest.NewServer(gw)
	defer gts.Close()
	h := newHarness(t, func(c *Config) {
		c.SMS = &SMSGateway{URL: gts.URL, Auth: "basic:user:pa:ss", Body: "to={to}&n={msisdn}&msg=Code+{code}+({sender})"}
	})
	id := h.ready(randomBytes(t, 64), relayapi.CreateDropRequest{Mode: "link", AccessCode: "1234 5678", Recipients: []string{"opj@police.example"}})
	resp, body := h.do("POST", "/api/v1/drops/"+id+"/code/send", relayapi.CodeSendRequest{Code: "1234 5678", To: "sms:+33612345678"}, h.auth()...)
	expect(t, resp, body, http.StatusOK)
	r := gw.reqs[0]
	v, err := url.ParseQuery(r.body)
	if err != nil || v.Get("to") != "+33612345678" || v.Get("n") != "33612345678" || v.Get("msg") != "Code 1234 5678 (Dr Durand)" || r.ctype != "application/x-www-form-urlencoded" ||
		r.auth != "Basic dXNlcjpwYTpzcw==" {
		t.Fatalf("form request %+v (%v)", r, v)
	}
	id = h.ready(randomBytes(t, 64), relayapi.CreateDropRequest{Mode: "link", AccessCode: "1234 5678", Recipients: []string{"opj@police.example"}})
	resp, body = h.do("POST", "/api/v1/drops/"+id+"/code/send", relayapi.CodeSendRequest{Code: "1234 5678", To: "mail:permanence@police.example"}, h.auth()...)
	if got := decode[relayapi.CodeSendResponse](t, expect(t, resp, body, http.StatusOK)); got.SentVia != "mail" {
		t.Fatalf("%+v", got)
	}
	h.waitMail()
	for {
		m := h.mail.next(t)
		if m.To[0] == "permanence@police.example" {
			if !strings.Contains(m.Text, "1234 5678") || strings.Contains(m.Text, "/d/"+id) {
				t.Fatalf("code mail:\n%s", m.Text)
			}
			break
		}
	}
}

func TestCheckSMSGateway(t *testing.T) {
	for _, g := range []SMSGateway{
		{URL: "ftp://x", Body: "{to}{code}"},
		{URL: "http://sms.example/api", Body: "{to}{code}"},
		{URL: "https://sms.example/api", Body: "{to}"},
		{URL: "https://sms.example/api", Body: "{to}{code}", Auth: "token"},
	} {
		if err := CheckSMSGateway(&g); err == nil {
			t.Errorf("accepted %+v", g)
		}
	}
	if err := CheckSMSGateway(&SMSGateway{URL: "https://sms.example/api", Body: "{to}{code}", Auth: "bearer:x"}); err != nil {
		t.Fatal(err)
	}
}

// A gateway failure gives the turn back: the sender may try again.
func TestCodeSendFailureRetries(t *testing.T) {
	fail := true
	gts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer gts.Close()
	h := newHarness(t, func(c *Config) { c.SMS = &SMSGateway{URL: gts.URL, Body: "to={to}&t={code}"} })
	id := h.ready(randomBytes(t, 64), relayapi.CreateDropRequest{Mode: "link", AccessCode: "24681357"})
	req := relayapi.CodeSendRequest{Code: "24681357", To: "sms:+33612345678"}
	resp, body := h.do("POST", "/api/v1/drops/"+id+"/code/send", req, h.auth()...)
	if expect(t, resp, body, http.StatusBadGateway); strings.Contains(string(body), "24681357") {
		t.Fatal("error echoes the code")
	}
	fail = false
	resp, body = h.do("POST", "/api/v1/drops/"+id+"/code/send", req, h.auth()...)
	expect(t, resp, body, http.StatusOK)
}
