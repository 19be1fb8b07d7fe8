package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// TestSenderIdentityThroughRealRelay: two PCs enrolled with one
// organisation token. The second makes a key with the first's name and
// address: its drop is refused at creation; its drop with its own key
// opens with identity_verified false; the first's, once approved, opens
// verified by the organisation. A revoked credential is refused at once
// and doctor says why.
func TestSenderIdentityThroughRealRelay(t *testing.T) {
	testutil.NeedIntegration(t)
	rl := startRelayProc(t)
	relayBin := testutil.Binary(t, "sealrelay")
	out, err := exec.Command(relayBin, "token", "create", "--data", rl.data, "--org", "CHU de Lyon — UMJ", "--uses", "5", "--json").CombinedOutput()
	if err != nil {
		t.Fatalf("token create: %v %s", err, out)
	}
	var orgTok struct{ Token string }
	json.Unmarshal(out, &orgTok)

	claire, mallory, officer := newPerson(t), newPerson(t), newPerson(t)
	claire.must("keys", "generate", "--name", "Dr Claire Durand", "--email", "claire.durand@chu.example")
	mallory.must("keys", "generate", "--name", "Mallory", "--email", "mallory@chu.example")
	officer.must("keys", "generate", "--name", "Cdt Martin", "--email", "martin@police.example")
	martin := filepath.Join(officer.dir, "martin.asc")
	os.WriteFile(martin, []byte(officer.must("keys", "export", "martin@police.example")), 0o644)
	claire.must("keys", "import", martin)
	mallory.must("keys", "import", martin)

	enrolled := claire.must("enroll", "--relay", rl.url, "--token", orgTok.Token)
	if !strings.Contains(enrolled, "enrolled as claire.durand@chu.example for CHU de Lyon — UMJ") || !strings.Contains(enrolled, "not verified yet") {
		t.Fatalf("enroll printed %q", enrolled)
	}
	mallory.must("enroll", "--relay", rl.url, "--token", orgTok.Token)
	var claireID string
	for _, line := range strings.Split(enrolled, "\n") {
		if i := strings.Index(line, "(sender "); i >= 0 {
			claireID = strings.TrimSuffix(line[i+len("(sender "):], ")")
		}
	}
	if out, err := exec.Command(relayBin, "senders", "approve", "--data", rl.data, claireID).CombinedOutput(); err != nil || !strings.Contains(string(out), "verified") {
		t.Fatalf("approve %q: %v %s", claireID, err, out)
	}

	report := []byte("%PDF-1.7\nrapport\n")
	for _, p := range []*person{claire, mallory} {
		os.WriteFile(filepath.Join(p.dir, "report.pdf"), report, 0o644)
	}
	// Claire's drop: green, naming the organisation.
	r := claire.send("report.pdf", "--to", "martin@police.example")
	var res openResult
	json.Unmarshal([]byte(officer.must("open", r.Link, "-o", "claire.pdf", "--json")), &res)
	if !res.SignatureValid || !res.IdentityVerified || res.IdentitySource != "relay" || res.IdentityOrg != "CHU de Lyon — UMJ" {
		t.Fatalf("claire's drop: %+v", res)
	}
	// Mallory's own key: valid signature, identity not verified.
	r = mallory.send("report.pdf", "--to", "martin@police.example")
	res = openResult{}
	json.Unmarshal([]byte(officer.must("open", r.Link, "-o", "mallory.pdf", "--json")), &res)
	if !res.SignatureValid || res.IdentityVerified || res.IdentitySource != "none" {
		t.Fatalf("mallory's drop: %+v", res)
	}
	text := officer.must("open", r.Link, "-o", "mallory2.pdf")
	if !strings.Contains(text, "identité non vérifiée") {
		t.Fatalf("open printed %q", text)
	}
	// Mallory makes a key in Claire's name: the relay refuses the drop.
	mallory.must("keys", "generate", "--name", "Dr Claire Durand", "--email", "claire.durand@chu.example", "--force")
	mallory.fails("not the key bound to this sender's credential", "send", "report.pdf", "--to", "martin@police.example")

	// Revoking Claire takes effect on the running relay, and doctor says why.
	if out, err := exec.Command(relayBin, "token", "revoke", "--data", rl.data, claireID).CombinedOutput(); err != nil {
		t.Fatalf("revoke: %v %s", err, out)
	}
	claire.fails("revoked", "send", "report.pdf", "--to", "martin@police.example")
	doc, _, _ := claire.run("doctor", "--timeout", "10s")
	if !strings.Contains(doc, "refused by the relay (401): enrolment token revoked") {
		t.Fatalf("doctor after revocation:\n%s", doc)
	}
}
