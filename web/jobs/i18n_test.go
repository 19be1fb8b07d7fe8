package jobs

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/spooler"
)

func TestAcceptLang(t *testing.T) {
	cases := map[string]Lang{
		"":                            French,
		"fr-FR,fr;q=0.9":              French,
		"en-GB,en;q=0.9":              English,
		"de-DE,en;q=0.5,fr;q=0.8":     French,
		"de-DE,fr;q=0.5,en-US;q=0.8":  English,
		"zz;q=bad,en":                 English,
		"ja":                          French,
		strings.Repeat("en-x,", 1000): English,
	}
	for h, want := range cases {
		if got := acceptLang(h); got != want {
			t.Errorf("%.40q: %s, want %s", h, got, want)
		}
	}
}

func TestLangFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if l := LangFromEnv(env(nil)); l != French {
		t.Fatal(l)
	}
	if l := LangFromEnv(env(map[string]string{"LANG": "en_US.UTF-8"})); l != English {
		t.Fatal(l)
	}
	if l := LangFromEnv(env(map[string]string{"LANG": "en_US.UTF-8", "LC_ALL": "fr_FR.UTF-8"})); l != French {
		t.Fatal(l)
	}
	if l := LangFromEnv(env(map[string]string{"LC_ALL": "C", "LANG": "en_GB"})); l != English {
		t.Fatal(l)
	}
}

// Every message and state exists in both languages, and French differs
// from English where a translation is expected.
func TestMessagesComplete(t *testing.T) {
	for k, m := range messages {
		if m.fr == "" || m.en == "" {
			t.Errorf("message %q lacks a language", k)
		}
	}
	for _, s := range []spooler.State{spooler.Received, spooler.Rendered, spooler.Held, spooler.Sealed, spooler.Uploaded,
		spooler.Delivered, spooler.Failed, spooler.Canceled, spooler.Expired} {
		if _, ok := messages["state."+string(s)]; !ok {
			t.Errorf("state %s has no name", s)
		}
		j := &spooler.Job{State: s, Recipients: []string{"a@b.example"}}
		if French.Message(j, "") == English.Message(j, "") {
			t.Errorf("state %s: message not translated", s)
		}
	}
}

func TestDate(t *testing.T) {
	at := time.Date(2026, 12, 1, 15, 4, 0, 0, time.Local)
	if got := French.Date(at); got != "1 déc. 2026 à 15:04" {
		t.Fatal(got)
	}
	if got := English.Date(at); !strings.HasPrefix(got, "1 Dec 2026, 15:04") {
		t.Fatal(got)
	}
}

// The page speaks French unless the browser prefers English; the switch
// changes the language and is remembered.
func TestPageLanguage(t *testing.T) {
	h := newHarness(t)
	id := h.accept("rapport")
	h.waitState(id, spooler.Held)
	srv := httptest.NewServer(Handler(h.sp, Options{APIToken: "tok"}))
	defer srv.Close()
	get := func(path, accept string, c *http.Cookie) (*http.Response, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept-Language", accept)
		}
		if c != nil {
			req.AddCookie(c)
		}
		resp, err := signedIn.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	_, fr := get("/jobs", "fr-FR,fr;q=0.9", nil)
	if !strings.Contains(fr, `lang="fr"`) || !strings.Contains(fr, "En attente de destinataires") || !strings.Contains(fr, `href="/jobs?lang=en"`) {
		t.Fatalf("French page:\n%s", fr)
	}
	_, en := get("/jobs", "en-US,en;q=0.9", nil)
	if !strings.Contains(en, `lang="en"`) || !strings.Contains(en, "Waiting for recipients") || strings.Contains(en, "En attente") {
		t.Fatalf("English page:\n%s", en)
	}
	resp, sw := get("/jobs?lang=en", "fr-FR", nil)
	if !strings.Contains(sw, "Seal and send") {
		t.Fatal("switch ignored")
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == langCookie {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value != "en" || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("switch not remembered: %+v", resp.Cookies())
	}
	if _, again := get("/jobs", "fr-FR", cookie); !strings.Contains(again, "Seal and send") {
		t.Fatal("remembered language ignored")
	}
	// The API and its client speak the language asked for.
	c := &Client{Info: ServiceInfo{URL: srv.URL, Token: "tok"}}
	list, err := c.List(t.Context())
	if err != nil || len(list) != 1 || !strings.Contains(list[0].Message, "choisissez les destinataires") {
		t.Fatalf("%v %+v", err, list)
	}
	c.Lang = English
	list, err = c.List(t.Context())
	if err != nil || len(list) != 1 || !strings.Contains(list[0].Message, "choose recipients") {
		t.Fatalf("%v %+v", err, list)
	}
}
