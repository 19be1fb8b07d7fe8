package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relayapi"
)

// recipientReply plays the recipient's browser against a real relay: it
// downloads drop id, decrypts it (key or link secret), and replies with the
// files and message, encrypted to the sender's key and signed with signer.
func recipientReply(t *testing.T, relayURL, id string, open envelope.OpenOptions, sender, signer *envelope.Key, message string, files map[string][]byte) string {
	t.Helper()
	resp, err := http.Get(relayURL + "/api/v1/drops/" + id + "/blob")
	if err != nil {
		t.Fatal(err)
	}
	blob, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download %s: %s", id, resp.Status)
	}
	token := resp.Header.Get(relayapi.HeaderReceiptToken)
	msg, err := envelope.Open(bytes.NewReader(blob), io.Discard, open)
	if err != nil {
		t.Fatalf("recipient opens %s: %v", id, err)
	}

	call := func(method, path string, body io.Reader, hdr ...string) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, relayURL+path, body)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
		}
		return b
	}
	jsonBody := func(v any) io.Reader { b, _ := json.Marshal(v); return bytes.NewReader(b) }

	var plain bytes.Buffer
	var rf []envelope.ReplyFile
	for name, data := range files {
		rf = append(rf, envelope.ReplyFile{Name: name, Data: bytes.NewReader(data), Size: int64(len(data))})
	}
	if err := envelope.WriteReplyArchive(&plain, message, rf); err != nil {
		t.Fatal(err)
	}
	var sealed bytes.Buffer
	sw, err := envelope.Seal(&sealed, envelope.SealOptions{Signer: signer, Recipients: []*envelope.Key{sender}, FileName: "reply.tar"})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(sw, &plain)
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	sum := envelope.ReplyKey(msg.SessionKey)
	var g relayapi.ReplyGrantResponse
	json.Unmarshal(call("POST", "/api/v1/drops/"+id+"/reply-grant", jsonBody(relayapi.ReplyGrantRequest{Token: token, ReplyKey: hex.EncodeToString(sum)}),
		"Content-Type", "application/json"), &g)
	grant := []string{relayapi.HeaderReplyGrant, g.Grant}
	var cr relayapi.CreateReplyResponse
	json.Unmarshal(call("POST", "/api/v1/drops/"+id+"/replies", jsonBody(relayapi.CreateReplyRequest{Size: int64(sealed.Len()), SHA256: fmt.Sprintf("%x", sha256.Sum256(sealed.Bytes()))}),
		append(grant, "Content-Type", "application/json")...), &cr)
	call("POST", "/api/v1/uploads/", nil, append(grant, "Tus-Resumable", "1.0.0", "Upload-Length", strconv.Itoa(sealed.Len()),
		"Upload-Metadata", "drop "+base64.StdEncoding.EncodeToString([]byte(cr.ID)))...)
	call("PATCH", "/api/v1/uploads/"+cr.ID, bytes.NewReader(sealed.Bytes()), append(grant, "Tus-Resumable", "1.0.0", "Upload-Offset", "0",
		"Content-Type", "application/offset+octet-stream")...)
	call("POST", cr.CompleteURL, nil, grant...)
	return cr.ID
}

// TestSendRepliesThroughRealRelay: drops made by 'sealprint send' (key and
// link mode) take secure replies; 'sealprint replies' lists them under
// the drop, 'sealprint open --reply' finds and decrypts them with the
// recipient's signature verified, and the relay holds no plaintext.
func TestSendRepliesThroughRealRelay(t *testing.T) {
	testutil.NeedIntegration(t)
	relay := startRelayProc(t)
	doctor := newPerson(t)
	doctor.must("keys", "generate", "--name", "Dr Durand", "--email", "durand@chu.example")
	officer, err := envelope.GenerateKey("Cdt Martin", "martin@police.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	officer.WritePublic(&pub, true)
	os.WriteFile(filepath.Join(doctor.dir, "martin.asc"), pub.Bytes(), 0o644)
	doctor.must("keys", "import", filepath.Join(doctor.dir, "martin.asc"))
	senderKeys, err := envelope.ReadKeys(strings.NewReader(doctor.must("keys", "export", "durand@chu.example")))
	if err != nil || len(senderKeys) != 1 {
		t.Fatalf("doctor's key: %v", err)
	}
	doctor.must("enroll", "--relay", relay.url, "--token", relay.token(t, "Dr Durand"))
	os.WriteFile(filepath.Join(doctor.dir, "rapport.pdf"), []byte("%PDF-1.7\nrapport\n"), 0o644)

	// Before any send: nothing to list.
	if out := doctor.must("replies"); !strings.Contains(out, "No drop sent") {
		t.Errorf("replies with no sent drop printed %q", out)
	}
	keyDrop := doctor.send("rapport.pdf", "--to", "martin@police.example")
	linkDrop := doctor.send("rapport.pdf", "--link", "--to", "martin@police.example")
	quiet := doctor.send("rapport.pdf", "--to", "martin@police.example")

	const m1, m2, m3 = "SEND-REPLY-MARKER-A-41c2", "SEND-REPLY-MARKER-B-9d07", "SEND-REPLY-MARKER-MSG-e6f0"
	files := map[string][]byte{"pv.pdf": []byte("%PDF-1.4 " + m1), "notes.txt": []byte("notes " + m2)}
	keyReply := recipientReply(t, relay.url, keyDrop.ID, envelope.OpenOptions{Keys: []*envelope.Key{officer}, Verifiers: senderKeys},
		senderKeys[0], officer, "Bien reçu "+m3, files)
	secret := linkDrop.Link[strings.Index(linkDrop.Link, "#")+1:]
	linkReply := recipientReply(t, relay.url, linkDrop.ID, envelope.OpenOptions{Secret: secret, Verifiers: senderKeys},
		senderKeys[0], officer, "Réponse au lien", map[string][]byte{"a.txt": []byte("a")})

	var list []repliesEntry
	if err := json.Unmarshal([]byte(doctor.must("replies", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].Drop != quiet.ID || list[2].Drop != keyDrop.ID {
		t.Fatalf("replies --json lists %+v, want the three sent drops, newest first", list)
	}
	if len(list[0].Replies) != 0 || len(list[1].Replies) != 1 || list[1].Replies[0].ID != linkReply ||
		len(list[2].Replies) != 1 || list[2].Replies[0].ID != keyReply || list[2].File != "rapport.pdf" {
		t.Fatalf("replies --json: %+v", list)
	}
	text := doctor.must("replies")
	if !strings.Contains(text, "open --reply "+keyReply) || !strings.Contains(text, "pas encore de réponse") {
		t.Errorf("replies printed:\n%s", text)
	}
	if one := doctor.must("replies", keyDrop.ID); !strings.Contains(one, keyReply) || strings.Contains(one, linkReply) {
		t.Errorf("replies %s printed:\n%s", keyDrop.ID, one)
	}

	var res openReplyResult
	if err := json.Unmarshal([]byte(doctor.must("open", "--reply", keyReply, "-o", "reponse", "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if !res.SignatureValid || res.SignerFingerprint != officer.Fingerprint() || res.Drop != keyDrop.ID || res.Job != "" {
		t.Errorf("open --reply: %+v", res)
	}
	for name, want := range files {
		if got, err := os.ReadFile(filepath.Join(doctor.dir, "reponse", name)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
	if msg, _ := os.ReadFile(filepath.Join(doctor.dir, "reponse", "message.txt")); !strings.Contains(string(msg), m3) {
		t.Errorf("message.txt %q", msg)
	}
	// The link-mode drop's reply, with its drop named.
	doctor.must("open", "--reply", linkReply, "--drop", linkDrop.ID, "-o", "lien")
	if got, _ := os.ReadFile(filepath.Join(doctor.dir, "lien", "a.txt")); string(got) != "a" {
		t.Errorf("link-mode reply: %q", got)
	}
	doctor.fails("no job or sent drop has the reply", "open", "--reply", strings.Repeat("A", 22))
	doctor.fails("--drop goes with --reply", "open", "x.pgp", "--drop", keyDrop.ID)

	// sent.json keeps no secret.
	b, _ := os.ReadFile(filepath.Join(doctor.home, sentFile))
	if bytes.Contains(b, []byte(secret)) || !bytes.Contains(b, []byte(linkDrop.ID)) {
		t.Errorf("sent.json: %s", b)
	}
	if hits := grepDir(t, relay.data, m1, m2, m3); len(hits) > 0 {
		t.Fatalf("plaintext on the relay: %v", hits)
	}
}

// grepDir lists the files under dir holding any of markers.
func grepDir(t *testing.T, dir string, markers ...string) []string {
	t.Helper()
	var hits []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, m := range markers {
			if bytes.Contains(b, []byte(m)) {
				hits = append(hits, p+": "+m)
			}
		}
		return nil
	})
	return hits
}
