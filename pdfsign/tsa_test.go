package pdfsign

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
)

func TestSignWithTimestamp(t *testing.T) {
	ca := testutil.NewCA(t, "Test CA")
	tsa := testutil.StartTSA(t, ca)
	id := newRSAIdentity(t, ca, "Dr Jeanne Dupont")
	signed := signBytes(t, minimalPDF("Rapport"), id, Options{TSA: &TSA{URL: tsa.URL}})
	rep := verifyBytes(t, signed, ca.Pool())
	s := rep.Signatures[0]
	if !rep.Valid() || s.Level != "B-T" || s.Timestamp == nil || !s.Timestamp.Valid || !s.Timestamp.Trusted ||
		!strings.Contains(s.Timestamp.TSA, "Test TSA") || s.Timestamp.Time.IsZero() {
		t.Fatalf("signature %+v timestamp %+v", s, s.Timestamp)
	}
	if len(s.Problems) != 0 {
		t.Fatalf("problems: %v", s.Problems)
	}
}

// A TSA that fails, or that answers for another query, makes Sign fail
// with a TSAError rather than produce a document without a timestamp.
func TestSignTSAFailures(t *testing.T) {
	ca := testutil.NewCA(t, "Test CA")
	id := newRSAIdentity(t, ca, "Dr Jeanne Dupont")
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer down.Close()

	// A replaying TSA: answers every query with the first token it made
	// (a valid token, for another signature).
	real := testutil.StartTSA(t, ca)
	var first []byte
	replay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if first == nil {
			rec := httptest.NewRecorder()
			real.ServeHTTP(rec, r)
			first = rec.Body.Bytes()
		}
		w.Write(first)
	}))
	defer replay.Close()
	signBytes(t, minimalPDF("a"), id, Options{TSA: &TSA{URL: replay.URL}})

	for name, url := range map[string]string{"down": down.URL, "replay": replay.URL, "unreachable": "http://127.0.0.1:1/"} {
		_, err := Sign(t.Context(), new(strings.Builder), strings.NewReader(string(minimalPDF("b"))), id, Options{TSA: &TSA{URL: url}})
		var te *TSAError
		if !errors.As(err, &te) {
			t.Errorf("%s: err = %v, want a TSAError", name, err)
		}
	}
}

func TestTSAProbe(t *testing.T) {
	ca := testutil.NewCA(t, "Test CA")
	tsa := testutil.StartTSA(t, ca)
	when, err := (&TSA{URL: tsa.URL}).Probe(t.Context())
	if err != nil || time.Since(when) > time.Hour || time.Until(when) > time.Hour {
		t.Fatalf("probe: %v at %v", err, when)
	}
	tsa.Down.Store(true)
	var te *TSAError
	if _, err := (&TSA{URL: tsa.URL}).Probe(t.Context()); !errors.As(err, &te) {
		t.Fatalf("probe of a TSA that is down: %v", err)
	}
}
