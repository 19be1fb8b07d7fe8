package relay

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relayapi"
)

// TestServeBinary runs the real `sealrelay serve` over TLS, sends it a
// sealed document holding a plaintext marker, downloads and opens it, and
// then searches every file of the data dir for the marker and the token.
func TestServeBinary(t *testing.T) {
	testutil.NeedIntegration(t)
	bin := testutil.Binary(t, "sealrelay")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	certFile, keyFile, pool := selfSignedCert(t, dir)

	smtp := testutil.StartSMTP(t, testutil.SMTPOptions{})
	out, err := exec.Command(bin, "token", "create", "--data", data, "--name", "Dr Durand", "--email", "durand@hospital.example").Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	token := strings.TrimSpace(string(out))
	if !strings.HasPrefix(token, "spt_") {
		t.Fatalf("token %q", token)
	}

	addr := testutil.FreeAddr(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", "--data", data, "--listen", addr, "--tls-cert", certFile, "--tls-key", keyFile,
		"--public-url", "https://relay.example", "--smtp", smtp.URL, "--mail-from", "relay@relay.example")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + addr
	waitHealthy(t, client, base, exited, &logs)

	// Seal a document that holds a marker.
	marker := "PLAINTEXT-MARKER-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	sender, err := envelope.GenerateKey("Dr Durand", "durand@hospital.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	recipient, err := envelope.GenerateKey("Cdt Martin", "martin@police.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	var sealed bytes.Buffer
	w, err := envelope.Seal(&sealed, envelope.SealOptions{Signer: sender, Recipients: []*envelope.Key{recipient.Public()}, FileName: "report-" + marker + ".pdf"})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "%%PDF-1.7\n%s\n%s\n", marker, strings.Repeat("report body ", 1000))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ct := sealed.Bytes()
	if bytes.Contains(ct, []byte(marker)) {
		t.Fatal("the ciphertext itself holds the marker")
	}

	call := func(method, path string, body io.Reader, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, body)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	auth := []string{"Authorization", "Bearer " + token}
	var pub bytes.Buffer
	sender.WritePublic(&pub, true)
	reqBody, _ := json.Marshal(relayapi.CreateDropRequest{Size: int64(len(ct)), SHA256: hexSHA(ct), Mode: "key",
		Recipients: []string{"martin@police.example"}, SenderKey: pub.String(), Notify: true})
	resp, body := call("POST", "/api/v1/drops", bytes.NewReader(reqBody), append(auth, "Content-Type", "application/json")...)
	c := decode[relayapi.CreateDropResponse](t, expect(t, resp, body, http.StatusCreated))
	if c.Link != "https://relay.example/d/"+c.ID {
		t.Fatalf("link %q", c.Link)
	}
	resp, body = call("POST", "/api/v1/uploads/", nil, append(auth, "Tus-Resumable", "1.0.0", "Upload-Length", strconv.Itoa(len(ct)),
		"Upload-Metadata", "drop "+base64.StdEncoding.EncodeToString([]byte(c.ID)))...)
	expect(t, resp, body, http.StatusCreated)
	resp, body = call("PATCH", c.UploadURL, bytes.NewReader(ct), append(auth, "Tus-Resumable", "1.0.0", "Upload-Offset", "0",
		"Content-Type", "application/offset+octet-stream")...)
	expect(t, resp, body, http.StatusNoContent)
	resp, body = call("POST", "/api/v1/drops/"+c.ID+"/complete", nil, auth...)
	expect(t, resp, body, http.StatusOK)

	resp, body = call("GET", "/api/v1/drops/"+c.ID+"/blob", nil)
	expect(t, resp, body, http.StatusOK)
	var plain bytes.Buffer
	msg, err := envelope.Open(bytes.NewReader(body), &plain, envelope.OpenOptions{Keys: []*envelope.Key{recipient}, Verifiers: []*envelope.Key{sender.Public()}})
	if err != nil || !msg.Verified || !strings.Contains(plain.String(), marker) {
		t.Fatalf("open downloaded document: %v (verified %v)", err, msg != nil && msg.Verified)
	}
	for _, h := range []string{"Referrer-Policy", "X-Content-Type-Options", "Strict-Transport-Security"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}

	// A real SMTP server got the recipient's notice and the sender's
	// "downloaded" notice.
	mails := smtp.WaitMessages(t, 2)
	got := map[string]string{}
	for _, m := range mails {
		got[strings.Join(m.To, ",")] = m.Data
	}
	if !strings.Contains(got["martin@police.example"], "https://relay.example/d/"+c.ID) {
		t.Errorf("recipient mail lacks the link:\n%s", got["martin@police.example"])
	}
	if !strings.Contains(got["durand@hospital.example"], "downloaded") {
		t.Errorf("sender mail:\n%s", got["durand@hospital.example"])
	}

	// Admin listing, while the relay runs.
	out, err = exec.Command(bin, "drops", "list", "--data", data, "--json").Output()
	if err != nil {
		t.Fatalf("drops list: %v", err)
	}
	var rows []struct {
		ID        string
		State     string
		Size      int64
		Downloads int
	}
	if err := json.Unmarshal(out, &rows); err != nil || len(rows) != 1 || rows[0].ID != c.ID || rows[0].Downloads != 1 || rows[0].State != StateReady || rows[0].Size != int64(len(ct)) {
		t.Fatalf("drops list: %s (%v)", out, err)
	}

	// Stop cleanly, then search the data dir.
	cmd.Process.Signal(syscall.SIGTERM)
	if err := <-exited; err != nil {
		t.Fatalf("serve exited: %v\n%s", err, logs.String())
	}
	exited <- nil
	searched := 0
	filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		searched++
		for _, secret := range []string{marker, token} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds a secret (%.20s…)", p, secret)
			}
		}
		return nil
	})
	if searched < 3 {
		t.Fatalf("searched only %d files", searched)
	}
	for _, secret := range []string{marker, token} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("relay logs hold a secret (%.20s…)", secret)
		}
	}
	f, err := os.Open(filepath.Join(data, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n, err := VerifyAudit(f); err != nil || n != 6 {
		t.Fatalf("VerifyAudit = %d, %v", n, err)
	}
	out, err = exec.Command(bin, "audit", "verify", "--data", data).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "intact: 6 lines, 2 signed checkpoints") {
		t.Fatalf("audit verify: %v: %s", err, out)
	}
}

// waitHealthy polls /healthz until it answers 200 or the process exits.
func waitHealthy(t *testing.T, client *http.Client, base string, exited chan error, logs *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/healthz", nil)
		resp, err := client.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.TrimSpace(string(b)) == "ok" {
				return
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("sealrelay serve exited: %v\n%s", err, logs.String())
		case <-ctx.Done():
			t.Fatalf("relay not healthy: %v\n%s", err, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// selfSignedCert writes a certificate for 127.0.0.1 and returns the file
// names and a pool trusting it.
func selfSignedCert(t *testing.T, dir string) (string, string, *x509.CertPool) {
	t.Helper()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	return certFile, keyFile, testutil.SelfSignedCert(t, certFile, keyFile).RootCAs
}
