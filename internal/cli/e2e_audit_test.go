package cli

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

// TestAuditTrailAndProofThroughRealRelay: a real relay signs its audit
// log; a log rewritten with recomputed hashes fails 'sealrelay audit
// verify' naming the record; the exported proof of delivery verifies
// offline and any changed byte is refused.
func TestAuditTrailAndProofThroughRealRelay(t *testing.T) {
	testutil.NeedIntegration(t)
	rl := startRelayProc(t)
	relayBin := testutil.Binary(t, "sealrelay")
	doctor, officer := newPerson(t), newPerson(t)
	doctor.must("keys", "generate", "--name", "Dr Durand", "--email", "durand@chu.example")
	officer.must("keys", "generate", "--name", "Cdt Martin", "--email", "martin@police.example")
	os.WriteFile(filepath.Join(doctor.dir, "durand.asc"), []byte(doctor.must("keys", "export", "durand@chu.example")), 0o644)
	os.WriteFile(filepath.Join(doctor.dir, "martin.asc"), []byte(officer.must("keys", "export", "martin@police.example")), 0o644)
	doctor.must("keys", "import", filepath.Join(doctor.dir, "martin.asc"))
	officer.must("keys", "import", filepath.Join(doctor.dir, "durand.asc"))
	doctor.must("enroll", "--relay", rl.url, "--token", rl.token(t, "Dr Durand"))
	report := make([]byte, 4096)
	rand.Read(report)
	os.WriteFile(filepath.Join(doctor.dir, "report.pdf"), report, 0o644)
	r := doctor.send("report.pdf", "--to", "martin@police.example")
	officer.must("open", r.Link, "-o", "got.pdf", "--json")

	// The published key is the data dir's.
	keyJSON, err := exec.Command(relayBin, "audit", "key", "--data", rl.data).Output()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(rl.url + "/.well-known/sealrelay/audit-key")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var a, b2 map[string]string
	json.Unmarshal(served, &a)
	json.Unmarshal(keyJSON, &b2)
	if a["public_key"] == "" || a["public_key"] != b2["public_key"] || a["key_id"] != b2["key_id"] {
		t.Fatalf("served audit key %s, 'audit key' printed %s", served, keyJSON)
	}
	keyFile := filepath.Join(doctor.dir, "audit-key.json")
	os.WriteFile(keyFile, keyJSON, 0o644)

	out, err := exec.Command(relayBin, "audit", "verify", "--data", rl.data, "--key", keyFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "signed checkpoints") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}

	// Proof of delivery, exported by the operator, checked offline.
	proof := filepath.Join(doctor.dir, "proof.json")
	if out, err := exec.Command(relayBin, "audit", "export", "--data", rl.data, "--drop", r.ID, "-o", proof).CombinedOutput(); err != nil {
		t.Fatalf("audit export: %v\n%s", err, out)
	}
	out2 := doctor.must("verify-proof", proof, "--audit-key", keyFile)
	if !strings.Contains(out2, "proof of delivery valid: drop "+r.ID) || !strings.Contains(out2, "Downloaded") {
		t.Fatalf("verify-proof printed %q", out2)
	}
	b, _ := os.ReadFile(proof)
	for _, i := range []int{0, len(b) / 3, len(b) / 2, len(b) - 2} {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		os.WriteFile(proof, c, 0o644)
		doctor.fails("proof of delivery refused", "verify-proof", proof, "--audit-key", keyFile)
	}

	// An insider rewrites a record in the middle and recomputes every
	// later hash: the chain holds, the signed checkpoints do not.
	logPath := filepath.Join(rl.data, "audit.log")
	orig, _ := os.ReadFile(logPath)
	lines := strings.Split(strings.TrimSuffix(string(orig), "\n"), "\n")
	var forged bytes.Buffer
	prev := strings.Repeat("0", 64)
	for i, l := range lines {
		var m map[string]any
		json.Unmarshal([]byte(l), &m)
		if i == 1 {
			m["sender"] = "someone-else"
		}
		m["prev"] = prev
		nb, _ := json.Marshal(m)
		forged.Write(append(nb, '\n'))
		h := sha256.Sum256(nb)
		prev = hex.EncodeToString(h[:])
	}
	os.WriteFile(logPath, forged.Bytes(), 0o600)
	out, err = exec.Command(relayBin, "audit", "verify", "--data", rl.data, "--key", keyFile).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "first bad record: line 1") {
		t.Fatalf("rewritten log: %v\n%s", err, out)
	}
}
