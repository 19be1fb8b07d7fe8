package relay

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealprint/sealprint/relayapi"
)

func TestAccessCodeAndGrant(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 100)
	id := h.ready(data, relayapi.CreateDropRequest{Mode: "link", AccessCode: "48213907"})
	other := h.ready(data, relayapi.CreateDropRequest{Mode: "link", AccessCode: "11112222"})
	resp, body := h.do("GET", "/api/v1/drops/"+id, nil)
	if info := decode[relayapi.DropInfo](t, expect(t, resp, body, 200)); !info.NeedsCode || info.Mode != "link" {
		t.Fatalf("info %+v", info)
	}
	// No grant, a forged grant, another drop's grant: 403.
	resp, body = h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
	expect(t, resp, body, http.StatusForbidden)
	resp, body = h.do("GET", "/api/v1/drops/"+id+"/blob", nil, "X-Sealprint-Grant", strings.Repeat("A", 54))
	expect(t, resp, body, http.StatusForbidden)
	resp, body = h.do("POST", "/api/v1/drops/"+other+"/code", map[string]string{"code": "11112222"})
	otherGrant := decode[relayapi.CodeResponse](t, expect(t, resp, body, 200)).Grant
	resp, body = h.do("GET", "/api/v1/drops/"+id+"/blob", nil, "X-Sealprint-Grant", otherGrant)
	expect(t, resp, body, http.StatusForbidden)

	// A wrong code costs an attempt; the right one gives a grant.
	resp, body = h.do("POST", "/api/v1/drops/"+id+"/code", map[string]string{"code": "00000000"})
	if e := decode[relayapi.Error](t, expect(t, resp, body, http.StatusForbidden)); e.AttemptsLeft == nil || *e.AttemptsLeft != MaxCodeFailures-1 || e.Error != "wrong code" {
		t.Fatalf("wrong code answer %s", body)
	}
	resp, body = h.do("POST", "/api/v1/drops/"+id+"/code", map[string]string{"code": "48213907"})
	g := decode[relayapi.CodeResponse](t, expect(t, resp, body, 200))
	if g.Grant == "" || g.ExpiresIn != int(GrantLifetime.Seconds()) {
		t.Fatalf("grant %+v", g)
	}
	resp, body = h.do("GET", "/api/v1/drops/"+id+"/blob", nil, "X-Sealprint-Grant", g.Grant)
	if expect(t, resp, body, http.StatusOK); !bytes.Equal(body, data) {
		t.Fatal("downloaded bytes differ")
	}
	if st := h.status(id); st.CodeFailures != 1 || st.Downloads != 1 {
		t.Fatalf("status %+v", st)
	}
	// The grant expires.
	h.clock.Advance(GrantLifetime)
	resp, body = h.do("GET", "/api/v1/drops/"+id+"/blob", nil, "X-Sealprint-Grant", g.Grant)
	expect(t, resp, body, http.StatusForbidden)

	// Bad bodies; a drop without a code.
	for _, bad := range []string{`{}`, `{"code":""}`, `{"code":"` + strings.Repeat("1", 65) + `"}`, `[`, `{"code":"1","x":2}`} {
		resp, body = h.do("POST", "/api/v1/drops/"+id+"/code", bad)
		expect(t, resp, body, http.StatusBadRequest)
	}
	plain := h.ready(data, relayapi.CreateDropRequest{})
	resp, body = h.do("POST", "/api/v1/drops/"+plain+"/code", map[string]string{"code": "1234"})
	expect(t, resp, body, http.StatusBadRequest)
	if !h.hasEvent(EventCodeFailure, id) || !h.hasEvent(EventGrant, id) {
		t.Error("code events missing from the audit log")
	}
	// The audit log never holds the code.
	log := h.auditLogText()
	if strings.Contains(log, "48213907") || strings.Contains(log, h.token) {
		t.Fatal("audit log holds a secret")
	}
}

func TestCodeLock(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 100)
	id := h.ready(data, relayapi.CreateDropRequest{Mode: "link", AccessCode: "48213907", Recipients: []string{"martin@police.example"}})
	for i := 1; i < MaxCodeFailures; i++ {
		resp, body := h.do("POST", "/api/v1/drops/"+id+"/code", map[string]string{"code": "0000"})
		if e := decode[relayapi.Error](t, expect(t, resp, body, http.StatusForbidden)); *e.AttemptsLeft != MaxCodeFailures-i {
			t.Fatalf("attempt %d: attempts_left %d", i, *e.AttemptsLeft)
		}
	}
	resp, body := h.do("POST", "/api/v1/drops/"+id+"/code", map[string]string{"code": "0000"})
	if e := decode[relayapi.Error](t, expect(t, resp, body, http.StatusLocked)); e.State != StateLocked {
		t.Fatalf("5th wrong code: %s", body)
	}
	// Locked for good: even the right code, info and blob answer 423.
	resp, body = h.do("POST", "/api/v1/drops/"+id+"/code", map[string]string{"code": "48213907"})
	expect(t, resp, body, http.StatusLocked)
	resp, body = h.do("GET", "/api/v1/drops/"+id, nil)
	expect(t, resp, body, http.StatusLocked)
	resp, body = h.do("GET", "/api/v1/drops/"+id+"/blob", nil)
	expect(t, resp, body, http.StatusLocked)
	if st := h.status(id); st.State != StateLocked || st.CodeFailures != MaxCodeFailures {
		t.Fatalf("status %+v", st)
	}
	if h.blobExists(id) {
		t.Fatal("locked drop's blob kept")
	}
	if !h.hasEvent(EventLock, id) {
		t.Error("no lock audit event")
	}
	h.waitMail()
	m := h.mail.next(t)
	if m.To[0] != "durand@hospital.example" || !strings.Contains(m.Subject, "locked") || !strings.Contains(m.Text, "martin@police.example") {
		t.Fatalf("mail %q to %v", m.Subject, m.To)
	}
	h.mail.none(t)
}

// Parallel guesses cannot get more than MaxCodeFailures tries.
func TestCodeAttemptsParallel(t *testing.T) {
	h := newHarness(t)
	id := h.ready(randomBytes(t, 10), relayapi.CreateDropRequest{Mode: "link", AccessCode: "48213907"})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(h.ts.URL+"/api/v1/drops/"+id+"/code", "application/json", strings.NewReader(`{"code":"9999"}`))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[http.StatusForbidden] > MaxCodeFailures-1 || codes[http.StatusForbidden]+codes[http.StatusLocked] != 12 {
		t.Fatalf("answers %v", codes)
	}
	if st := h.status(id); st.State != StateLocked || st.CodeFailures > MaxCodeFailures {
		t.Fatalf("status %+v", st)
	}
}

func TestCodeHash(t *testing.T) {
	for _, p := range []CodeParams{*cheapCode, DefaultCodeParams} {
		enc, err := p.Hash("48213907", rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(enc, "48213907") || !strings.HasPrefix(enc, "argon2id$") {
			t.Fatalf("encoding %q", enc)
		}
		for code, want := range map[string]bool{"48213907": true, "48213908": false, "": false, "4821390": false} {
			if ok, err := checkCode(enc, code); ok != want || err != nil {
				t.Errorf("checkCode(%q) = %v, %v", code, ok, err)
			}
		}
	}
	for _, bad := range []string{"", "argon2id$v=19$m=1,t=1,p=1$$", "bcrypt$x", "argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA"} {
		if ok, err := checkCode(bad, "x"); ok || err == nil {
			t.Errorf("checkCode accepted encoding %q", bad)
		}
	}
}

func TestGrant(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := newGrant(key, "drop-a", now.Add(time.Minute))
	if !checkGrant(key, "drop-a", g, now) {
		t.Fatal("fresh grant refused")
	}
	if checkGrant(key, "drop-b", g, now) || checkGrant(key, "drop-a", g, now.Add(time.Minute)) ||
		checkGrant(bytes.Repeat([]byte{8}, 32), "drop-a", g, now) || checkGrant(key, "drop-a", flipChar(g, 20), now) ||
		checkGrant(key, "drop-a", "", now) {
		t.Fatal("bad grant accepted")
	}
}

// flipChar changes the i-th character of a base64url string.
func flipChar(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}
