package recipient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relayapi"
)

// streamReplyMB is the size of the key-mode document streamed to a file:
// just over the page's 32 MiB inline limit (api.js inlineLimit).
const streamReplyMB = 34

// streamReplyPage is what the streamed-reply test needs of a tab.
type streamReplyPage interface {
	goto_(url string)
	waitState(states ...string) string
	click(sel string)
	typeIn(sel, text string)
	uploadFiles(sel string, files ...string)
	str(expr string) string
	poll(expr string) string
}

// TestStreamReplyFirefox: a key-mode document over the inline limit,
// sent by the real 'sealprint send', streams to a file in Firefox ESR
// with the officer's browser key; once verified, its receipt is signed
// with that key (the relay stores the signature, which verifies) and the
// page offers the secure reply; the reply reaches the doctor's
// 'sealprint replies' and 'sealprint open --reply' with the officer's
// signature verified.
func TestStreamReplyFirefox(t *testing.T) {
	ff := startFirefox(t)
	r := startRealRelay(t)
	streamReply(t, r, ff.page(t), ff.DownloadDir, "")
}

// TestStreamReplyChromium is TestStreamReplyFirefox in Chromium, on the
// private-storage sink (the File System Access picker cannot be driven).
func TestStreamReplyChromium(t *testing.T) {
	e := newBrowserEnv(t)
	r := startRealRelay(t)
	dir := t.TempDir()
	// The browser's default context, as TestStreamChromium: downloads are
	// allowed there (a new browser context would need its own id).
	ctx, cancelCtx := chromedp.NewContext(e.browser)
	t.Cleanup(cancelCtx)
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatal(err)
	}
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	t.Cleanup(cancel)
	streamReply(t, r, cdpReplyPage{&cdpA11yPage{cdpPage: cdpPage{t: t, ctx: tctx}}}, dir, "?sink=storage")
}

func streamReply(t *testing.T, r *realRelay, p streamReplyPage, downloads, query string) {
	testutil.NeedIntegration(t)
	const name = "scelle-cle.pdf"
	size, sum := writeBig(t, r, name, streamReplyMB)
	s := r.doctor.send(name, "--to", r.officerMail)
	if s.SHA256 != sum {
		t.Fatalf("send printed %s, the file hashes to %s", s.SHA256, sum)
	}
	os.Remove(filepath.Join(r.doctor.wd, name))

	p.goto_(strings.Replace(s.Link, "/d/"+s.ID, "/d/"+s.ID+query, 1))
	p.waitState("key")
	p.uploadFiles(`#import-file`, r.officerSecret)
	p.typeIn(`#import-pass`, officerPass)
	p.click(`#import-form button[type=submit]`)
	p.waitState("save")
	p.click("#big-save")
	p.waitState("decrypted")
	waitSize(t, filepath.Join(downloads, name), size)
	if n, got := fileSHA256(t, filepath.Join(downloads, name)); n != size || got != sum {
		t.Fatalf("file on disk: %d bytes, SHA-256 %s; want %d, %s", n, got, size, sum)
	}

	// The receipt is signed with the key that opened the document.
	if st := p.poll(`document.documentElement.dataset.receipt`); st != "sent" {
		t.Fatalf("receipt %q", st)
	}
	if st := p.str(`document.documentElement.dataset.receiptSigned`); st != "yes" {
		t.Fatalf("receipt signed: %q, want yes", st)
	}
	officerPub, err := os.ReadFile(filepath.Join(r.doctor.wd, "martin.asc"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := envelope.ReadKeys(bytes.NewReader(officerPub))
	if err != nil || len(keys) != 1 {
		t.Fatalf("officer's key: %v", err)
	}
	officer := keys[0]
	d, err := r.cfg.Store.Drop(context.Background(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	rcpts, err := r.cfg.Store.Receipts(context.Background(), s.ID)
	if err != nil || len(rcpts) != 1 {
		t.Fatalf("receipts %+v, %v", rcpts, err)
	}
	if rcpts[0].Signer != officer.Fingerprint() {
		t.Fatalf("receipt signed by %q, want the officer's key %s", rcpts[0].Signer, officer.Fingerprint())
	}
	if err := envelope.VerifyReceipt(officer, relayapi.ReceiptStatement(s.ID, d.SHA256, rcpts[0].SignedAt), rcpts[0].Signature); err != nil {
		t.Fatalf("the receipt signature does not verify with the officer's key: %v", err)
	}

	// The secure reply, once the streamed document is verified.
	p.poll(`document.documentElement.dataset.reply === "offered"`)
	p.click(`#reply-open`)
	p.poll(`document.documentElement.dataset.reply === "form"`)
	const marker = "STREAM-REPLY-MARKER-3b8e"
	att := filepath.Join(t.TempDir(), "pv-audition.txt")
	os.WriteFile(att, []byte("procès-verbal "+marker+"\n"), 0o644)
	p.uploadFiles(`#reply-files`, att)
	p.typeIn(`#reply-message`, "Bien reçu le gros dossier.")
	p.click(`#reply-form button[type=submit]`)
	if st := p.poll(`["sent", "failed"].includes(document.documentElement.dataset.reply) && document.documentElement.dataset.reply`); st != "sent" {
		t.Fatalf("reply %s: %s", st, p.str(`document.getElementById("reply-status-text").textContent`))
	}
	replyID := p.str(`document.documentElement.dataset.replyId`)
	// The relay mails the doctor (her enrolled identity's address) that a
	// reply arrived, without its content.
	m := waitMail(t, r.smtp, r.doctorMail, "Secure reply received")
	if strings.Contains(m.Data, marker) || strings.Contains(m.Data, replyID) {
		t.Error("the reply notice carries the reply's content or id")
	}

	// The doctor finds it under the sent drop and opens it.
	var list []struct {
		Drop    string           `json:"drop"`
		Replies []relayapi.Reply `json:"replies"`
	}
	if err := json.Unmarshal([]byte(r.doctor.run("replies", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Drop != s.ID || len(list[0].Replies) != 1 || list[0].Replies[0].ID != replyID {
		t.Fatalf("sealprint replies: %+v, want reply %s to %s", list, replyID, s.ID)
	}
	var res struct {
		SignatureValid    bool   `json:"signature_valid"`
		SignerFingerprint string `json:"signer_fingerprint"`
		Message           string `json:"message"`
	}
	out := filepath.Join(r.doctor.wd, "reponse")
	if err := json.Unmarshal([]byte(r.doctor.run("open", "--reply", replyID, "-o", out, "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if !res.SignatureValid || res.SignerFingerprint != officer.Fingerprint() || !strings.Contains(res.Message, "gros dossier") {
		t.Errorf("opened reply %+v, want the officer's valid signature", res)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "pv-audition.txt")); !bytes.Contains(got, []byte(marker)) {
		t.Errorf("attachment: %q", got)
	}
	if hits := grepTree(t, r.dataDir, marker); len(hits) > 0 {
		t.Fatalf("plaintext on the relay: %v", hits)
	}
}
