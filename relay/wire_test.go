package relay

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/relayapi"
)

// wireRoundTrip checks that body, as the real handler wrote it, decodes
// into T with no unknown field and encodes back to the same JSON: the
// relayapi type and the handler agree on every field and its type.
func wireRoundTrip[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s into %T: %v", body, v, err)
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("%T does not round-trip:\n relay: %s\n type:  %s", v, bytes.TrimSpace(body), again)
	}
	return v
}

// TestWireTypes sends every request type of relayapi with every field set
// (the relay decodes strictly, so an unknown field would be refused) and
// round-trips every answer through its relayapi type.
func TestWireTypes(t *testing.T) {
	h := newHarness(t)
	data := randomBytes(t, 5000)
	max := 3
	req := relayapi.CreateDropRequest{
		IdempotencyKey: "job-1", Size: int64(len(data)), SHA256: hexSHA(data),
		Recipients: []string{"martin@police.example"}, Mode: relayapi.ModeLink,
		ExpiresInSeconds: 3600, MaxDownloads: &max, AccessCode: "48213907", Notify: true,
	}
	resp, body := h.do("POST", "/api/v1/drops", req, h.auth()...)
	c := wireRoundTrip[relayapi.CreateDropResponse](t, expect(t, resp, body, http.StatusCreated))
	if !relayapi.ValidDropID(c.ID) || c.Link != relayapi.Link("https://relay.example", c.ID) {
		t.Fatalf("create answered %+v", c)
	}
	if _, id, _, err := relayapi.ParseLink(c.Link + "#secret"); err != nil || id != c.ID {
		t.Fatalf("the relay's link does not parse: %v", err)
	}
	h.upload(c.ID, data)
	resp, body = h.complete(c.ID)
	expect(t, resp, body, http.StatusOK)

	resp, body = h.do("GET", "/api/v1/drops/"+c.ID, nil)
	info := wireRoundTrip[relayapi.DropInfo](t, expect(t, resp, body, http.StatusOK))
	if info.DownloadsLeft == nil || *info.DownloadsLeft != 3 || !info.NeedsCode || info.Mode != relayapi.ModeLink {
		t.Fatalf("info %+v", info)
	}

	resp, body = h.do("POST", "/api/v1/drops/"+c.ID+"/code", relayapi.CodeRequest{Code: "00000000"})
	e := wireRoundTrip[relayapi.Error](t, expect(t, resp, body, http.StatusForbidden))
	if e.AttemptsLeft == nil || e.Error == "" {
		t.Fatalf("wrong code answered %+v", e)
	}
	resp, body = h.do("POST", "/api/v1/drops/"+c.ID+"/code", relayapi.CodeRequest{Code: "48213907"})
	g := wireRoundTrip[relayapi.CodeResponse](t, expect(t, resp, body, http.StatusOK))
	resp, body = h.do("GET", "/api/v1/drops/"+c.ID+"/blob", nil, relayapi.HeaderGrant, g.Grant)
	if expect(t, resp, body, http.StatusOK); resp.Header.Get(relayapi.HeaderSHA256) != hexSHA(data) {
		t.Fatal("blob answer lacks its SHA-256 header")
	}
	proof := strings.Repeat("ab", 32)
	resp, body = h.do("POST", "/api/v1/drops/"+c.ID+"/receipt", relayapi.ReceiptRequest{Proof: proof, Token: resp.Header.Get(relayapi.HeaderReceiptToken)})
	expect(t, resp, body, http.StatusNoContent)

	resp, body = h.do("GET", "/api/v1/drops/"+c.ID+"/status", nil, h.auth()...)
	st := wireRoundTrip[relayapi.DropStatus](t, expect(t, resp, body, http.StatusOK))
	if st.Downloads != 1 || st.MaxDownloads != 3 || st.CodeFailures != 1 || len(st.Receipts) != 1 || st.Receipts[0].Proof != proof {
		t.Fatalf("status %+v", st)
	}

	// A drop with no download limit reports null, not 0.
	zero := 0
	id := h.ready(data, relayapi.CreateDropRequest{Mode: relayapi.ModeKey, MaxDownloads: &zero})
	resp, body = h.do("GET", "/api/v1/drops/"+id, nil)
	if info := wireRoundTrip[relayapi.DropInfo](t, expect(t, resp, body, http.StatusOK)); info.DownloadsLeft != nil {
		t.Fatalf("unlimited drop reports downloads_left %d", *info.DownloadsLeft)
	}
	// A revoked drop answers an Error naming its state.
	resp, body = h.do("DELETE", "/api/v1/drops/"+id, nil, h.auth()...)
	expect(t, resp, body, http.StatusNoContent)
	resp, body = h.do("GET", "/api/v1/drops/"+id, nil)
	if e := wireRoundTrip[relayapi.Error](t, expect(t, resp, body, http.StatusGone)); e.State != relayapi.StateRevoked {
		t.Fatalf("revoked drop answered %+v", e)
	}
}
