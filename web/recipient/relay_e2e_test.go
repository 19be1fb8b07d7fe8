package recipient_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/mail"
	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/keyserver"
	"github.com/sealprint/sealprint/relay"
	"github.com/sealprint/sealprint/relayapi"
	"github.com/sealprint/sealprint/uploader"
	"github.com/sealprint/sealprint/web/recipient"
)

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// sendResult is what `sealprint send --json` prints.
type sendResult struct {
	ID     string `json:"id"`
	Link   string `json:"link"`
	Code   string `json:"code"`
	SHA256 string `json:"sha256"`
}

// sealprintUser runs the real sealprint binary with its own home.
type sealprintUser struct {
	t        *testing.T
	home, wd string
}

func (u *sealprintUser) run(args ...string) string {
	u.t.Helper()
	cmd := exec.Command(testutil.Binary(u.t, "sealprint"), args...)
	cmd.Dir = u.wd
	cmd.Env = append(os.Environ(), "SEALPRINT_HOME="+u.home, "SEALPRINT_KEYRING=file")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		u.t.Fatalf("sealprint %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

func (u *sealprintUser) send(args ...string) sendResult {
	u.t.Helper()
	var r sendResult
	out := u.run(append([]string{"send", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		u.t.Fatalf("send printed %q", out)
	}
	return r
}

// waitMail waits for a mail to rcpt whose subject contains subject.
func waitMail(t *testing.T, s *testutil.SMTPServer, rcpt, subject string) testutil.ReceivedMail {
	t.Helper()
	for n := 1; ; n++ {
		msgs := s.WaitMessages(t, n)
		for _, m := range msgs {
			if len(m.To) == 1 && m.To[0] == rcpt && strings.Contains(decodedSubject(t, m), subject) {
				return m
			}
		}
		n = len(msgs)
	}
}

// decodedSubject returns a mail's subject, MIME words decoded.
func decodedSubject(t *testing.T, m testutil.ReceivedMail) string {
	t.Helper()
	raw := m.Message(t).Header.Get("Subject")
	s, err := new(mime.WordDecoder).DecodeHeader(raw)
	if err != nil {
		t.Fatalf("subject %q: %v", raw, err)
	}
	return s
}

// TestBrowserWithRealRelay: documents made by `sealprint send` go through
// the real relay (in process, with its middleware and a real SMTP server)
// and open in Chromium.
func TestBrowserWithRealRelay(t *testing.T) {
	e := newBrowserEnv(t)
	smtp := testutil.StartSMTP(t, testutil.SMTPOptions{})
	cfg, closer, err := relay.DataDir{Root: t.TempDir()}.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closer.Close() })
	ms, err := mail.NewSMTP(smtp.URL, "relay@relay.test")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Mail, cfg.MailFrom = ms, "relay@relay.test"
	cfg.CodeParams = &relay.CodeParams{Time: 1, Memory: 64, Threads: 1}
	relayLog := &lockedBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(relayLog, nil))
	ts := httptest.NewUnstartedServer(nil)
	cfg.PublicURL = "http://" + ts.Listener.Addr().String()
	rs, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	rs.Mount(mux)
	ks, err := keyserver.OpenFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	keyserver.Mount(mux, keyserver.NewHandler(ks, keyserver.Options{PublicURL: cfg.PublicURL, Mail: ms, MailFrom: "relay@relay.test", Logger: cfg.Logger}))
	mux.Handle("/d/", recipient.NewHandler(recipient.Options{TestHooks: true, Logger: cfg.Logger}))
	rec := &recorder{next: rs.Wrap(mux)}
	ts.Config.Handler = rec
	ts.Start()
	t.Cleanup(func() { ts.Close(); rs.Close() })

	const doctorMail, officerMail = "claire.martin@chu-lyon.example", "cdt.martin@police.example"
	_, token, err := relay.CreateSender(context.Background(), cfg.Store, "CHU de Lyon — UMJ", doctorMail, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	doctor := &sealprintUser{t: t, home: filepath.Join(t.TempDir(), "home"), wd: t.TempDir()}
	doctor.run("keys", "generate", "--name", "Dr Claire Martin", "--email", doctorMail)
	doctor.run("enroll", "--relay", cfg.PublicURL, "--token", token)
	report := samplePDF(3)
	if err := os.WriteFile(filepath.Join(doctor.wd, "rapport.pdf"), report, 0o644); err != nil {
		t.Fatal(err)
	}
	reportSum := sha256.Sum256(report)

	// The officer's key: the public half in the doctor's address book, the
	// secret half in a file the officer imports in the page.
	officer, err := envelope.GenerateKey("Cdt Martin", officerMail, nil)
	if err != nil {
		t.Fatal(err)
	}
	var pub, sec bytes.Buffer
	officer.WritePublic(&pub, true)
	officer.WriteSecret(&sec, true, []byte("correct horse battery"))
	pubFile := filepath.Join(doctor.wd, "martin.asc")
	secFile := filepath.Join(t.TempDir(), "martin-secret.asc")
	os.WriteFile(pubFile, pub.Bytes(), 0o644)
	os.WriteFile(secFile, sec.Bytes(), 0o600)
	doctor.run("keys", "import", pubFile)

	var secrets []string
	check := func(t *testing.T, ctx context.Context, r sendResult) {
		t.Helper()
		waitState(t, ctx, "decrypted")
		sha, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.sha256`))
		if sha != r.SHA256 || sha != hex.EncodeToString(reportSum[:]) {
			t.Fatalf("page fingerprint %s, sealprint send printed %s", sha, r.SHA256)
		}
		b64, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.sealprintTest.base64()`))
		if err != nil || b64 == "" {
			t.Fatal(err)
		}
		if got := mustB64(t, b64); !bytes.Equal(got, report) {
			t.Fatal("decrypted bytes differ from the original")
		}
		if st, _ := chromedp.Run(ctx, chromedp.Poll[string](`document.documentElement.dataset.receipt`)); st != "sent" {
			t.Fatalf("receipt %q", st)
		}
		rcpts, err := cfg.Store.Receipts(context.Background(), r.ID)
		if err != nil || len(rcpts) == 0 {
			t.Fatalf("relay has no receipt: %v", err)
		}
		// The sender is told by mail that the recipient opened it.
		waitMail(t, smtp, doctorMail, "Document opened")
	}

	t.Run("key mode from the notification mail", func(t *testing.T) {
		r := doctor.send("rapport.pdf", "--to", officerMail)
		m := waitMail(t, smtp, officerMail, "Sealed document from")
		link := regexp.MustCompile(`http://[^\s"<>]+/d/[A-Za-z0-9_-]{22}`).FindString(m.Data)
		if link != r.Link {
			t.Fatalf("mail link %q, send printed %q\n%s", link, r.Link, m.Data)
		}
		ctx := e.tab(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(link)); err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx, "key")
		err := chromedp.Do(ctx,
			chromedp.SetUploadFiles(chromedp.CSS(`#import-file`), []string{secFile}),
			chromedp.SendKeys(chromedp.CSS(`#import-pass`), "correct horse battery"),
			chromedp.Click(chromedp.CSS(`#import-form button[type=submit]`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		check(t, ctx, r)
		// The page signed the receipt with the officer's key: the doctor
		// can tell this recipient opened it.
		if st, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.receiptSigned || ""`)); st != "yes" {
			t.Fatalf("receipt signed: %q, want yes", st)
		}
		d, err := cfg.Store.Drop(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		rcpts, err := cfg.Store.Receipts(context.Background(), r.ID)
		if err != nil || len(rcpts) != 1 {
			t.Fatalf("receipts %+v, %v", rcpts, err)
		}
		rc := rcpts[0]
		if rc.Signer != officer.Fingerprint() {
			t.Fatalf("receipt signed by %q, want the officer's key %s", rc.Signer, officer.Fingerprint())
		}
		if err := envelope.VerifyReceipt(officer, relayapi.ReceiptStatement(r.ID, d.SHA256, rc.SignedAt), rc.Signature); err != nil {
			t.Fatalf("the page's receipt signature does not verify with the officer's key: %v", err)
		}
	})

	t.Run("link mode: nothing counts before the click", func(t *testing.T) {
		// What a mail gateway's link scanner does: load the link and wait.
		r := doctor.send("rapport.pdf", "--link", "--to", officerMail)
		secrets = append(secrets, r.Link[strings.Index(r.Link, "#")+1:])
		ctx := e.tab(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(r.Link)); err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx, "ready")
		d, err := cfg.Store.Drop(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		rcpts, _ := cfg.Store.Receipts(context.Background(), r.ID)
		if d.Downloads != 0 || len(rcpts) != 0 {
			t.Fatalf("before the click: %d downloads, %d receipts", d.Downloads, len(rcpts))
		}
		// The secret left the address bar and the history entry.
		for _, js := range []string{`location.hash`, `location.href`} {
			if v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](js)); strings.Contains(v, "#") {
				t.Fatalf("%s still holds the fragment: %q", js, v)
			}
		}
		if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS(`#open-btn`))); err != nil {
			t.Fatal(err)
		}
		check(t, ctx, r)
		if d, _ := cfg.Store.Drop(context.Background(), r.ID); d.Downloads != 1 {
			t.Fatalf("after the click: %d downloads", d.Downloads)
		}
		// No cover sealed: neither a deadline nor a reference, in either language.
		for _, l := range []string{"fr", "en"} {
			if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS(`button[data-lang=`+l+`]`))); err != nil {
				t.Fatal(err)
			}
			shown, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.getElementById("f-deadline").hidden || !document.getElementById("f-reference").hidden`))
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			cover, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.cover`))
			for _, w := range []string{"Échéance", "Référence de procédure", "Deadline", "Procedure reference"} {
				if strings.Contains(text, w) {
					shown = true
				}
			}
			if shown || cover != "no" {
				t.Fatalf("a drop without a cover shows one (%s, data-cover %q):\n%s", l, cover, text)
			}
		}
	})

	t.Run("link mode with a deadline and a reference, in French", func(t *testing.T) {
		// The CLI has no flag for the cover (the jobs page sets it, through
		// deliver/): seal with envelope's cover option and upload as a
		// sender of the relay does.
		ctx0 := context.Background()
		_, coverToken, err := relay.CreateSender(ctx0, cfg.Store, "CHU de Lyon — UMJ", "dr.garde@chu-lyon.example", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		signer, err := envelope.GenerateKey("Dr Garde", "dr.garde@chu-lyon.example", nil)
		if err != nil {
			t.Fatal(err)
		}
		secret, err := envelope.NewLinkSecret()
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, secret)
		deadline := time.Now().Add(30 * time.Hour).Truncate(time.Minute).In(time.FixedZone("CET", 3600))
		const reference = `PV 2026/001234 <b id="x">GAV</b> & co`
		var ct bytes.Buffer
		w, err := envelope.Seal(&ct, envelope.SealOptions{Signer: signer, Secret: secret, FileName: "rapport.pdf",
			Cover: envelope.Cover{Deadline: deadline, Reference: reference}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(report); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		var pubKey strings.Builder
		if err := signer.Public().WritePublic(&pubKey, true); err != nil {
			t.Fatal(err)
		}
		client, err := uploader.New(cfg.PublicURL, coverToken, uploader.Options{Getenv: func(string) string { return "" }})
		if err != nil {
			t.Fatal(err)
		}
		drop, err := client.Send(ctx0, relayapi.CreateDropRequest{Mode: "link", Size: int64(ct.Len()), ExpiresInSeconds: 3600,
			Recipients: []string{officerMail}, SenderKey: pubKey.String()}, bytes.NewReader(ct.Bytes()), nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx := e.tab(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(drop.Link+"#"+secret)); err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx, "ready")
		if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS(`button[data-lang=fr]`))); err != nil {
			t.Fatal(err)
		}
		// Nothing of the cover before decryption: the relay never had it.
		if text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`)); strings.Contains(text, "Échéance") || strings.Contains(text, "PV 2026") {
			t.Fatalf("cover shown before decryption:\n%s", text)
		}
		if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS(`#open-btn`))); err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx, "decrypted")
		type coverFacts struct {
			DeadlineDT, DeadlineDD, ReferenceDT, ReferenceDD, Want string
			Markup                                                 bool
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[coverFacts](`(() => {
			const row = (id) => { const r = document.getElementById(id); return r.hidden ? ["", ""] : [r.querySelector("dt").textContent, r.querySelector("dd").textContent]; };
			const [DeadlineDT, DeadlineDD] = row("f-deadline");
			const [ReferenceDT, ReferenceDD] = row("f-reference");
			const Want = new Intl.DateTimeFormat("fr", { dateStyle: "full", timeStyle: "short" }).format(new Date(`+"`"+deadline.Format(time.RFC3339)+"`"+`));
			const Markup = document.getElementById("x") !== null || document.querySelector("#f-reference dd").children.length > 0;
			return { DeadlineDT, DeadlineDD, ReferenceDT, ReferenceDD, Want, Markup };
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if got.DeadlineDT != "Échéance" || got.ReferenceDT != "Référence de procédure" {
			t.Fatalf("labels %q, %q", got.DeadlineDT, got.ReferenceDT)
		}
		if got.Want == "" || !strings.HasPrefix(got.DeadlineDD, got.Want) || !strings.Contains(got.DeadlineDD, "dans ") {
			t.Fatalf("deadline shown %q, want the French date %q and how far it is", got.DeadlineDD, got.Want)
		}
		if got.ReferenceDD != reference || got.Markup {
			t.Fatalf("reference shown %q (markup %v), want the text %q", got.ReferenceDD, got.Markup, reference)
		}
		if c, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.cover`)); c != "yes" {
			t.Fatalf("data-cover %q", c)
		}
		// Switching to English relabels the same facts.
		if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS(`button[data-lang=en]`))); err != nil {
			t.Fatal(err)
		}
		en, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#f-deadline dt").textContent + "|" + document.querySelector("#f-reference dt").textContent`))
		if en != "Deadline|Procedure reference" {
			t.Fatalf("English labels %q", en)
		}
	})

	t.Run("link mode with access code", func(t *testing.T) {
		r := doctor.send("rapport.pdf", "--link", "--code", "--to", officerMail)
		secrets = append(secrets, r.Link[strings.Index(r.Link, "#")+1:])
		ctx := e.tab(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(r.Link)); err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx, "code")
		typeCode(t, ctx, r.Code)
		check(t, ctx, r)
	})

	t.Run("two senders of one organisation: green only for the verified one", func(t *testing.T) {
		ctx0 := context.Background()
		_, orgToken, err := relay.CreateToken(ctx0, cfg.Store, relay.TokenSpec{Kind: relay.KindOrg, Name: "UMJ", Org: "CHU de Lyon — UMJ"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		claire := &sealprintUser{t: t, home: filepath.Join(t.TempDir(), "home"), wd: t.TempDir()}
		mallory := &sealprintUser{t: t, home: filepath.Join(t.TempDir(), "home"), wd: t.TempDir()}
		claire.run("keys", "generate", "--name", "Dr Claire Durand", "--email", "claire.durand@chu-lyon.example")
		mallory.run("keys", "generate", "--name", "Mallory", "--email", "mallory@chu-lyon.example")
		enrolled := claire.run("enroll", "--relay", cfg.PublicURL, "--token", orgToken)
		mallory.run("enroll", "--relay", cfg.PublicURL, "--token", orgToken)
		id := regexp.MustCompile(`\(sender (s_[0-9a-f]+)\)`).FindStringSubmatch(enrolled)
		if id == nil {
			t.Fatalf("enroll printed %q", enrolled)
		}
		if _, err := relay.ApproveSender(ctx0, cfg.Store, id[1]); err != nil {
			t.Fatal(err)
		}
		for _, u := range []*sealprintUser{claire, mallory} {
			os.WriteFile(filepath.Join(u.wd, "rapport.pdf"), report, 0o644)
		}
		for _, tc := range []struct {
			who      *sealprintUser
			identity string
			title    string // the page speaks the browser's language (English here)
		}{
			{claire, "verified", "Authentic document"},
			{mallory, "unverified", "Valid signature, identity not verified"},
		} {
			r := tc.who.send("rapport.pdf", "--link", "--to", officerMail)
			secrets = append(secrets, r.Link[strings.Index(r.Link, "#")+1:])
			ctx := e.tab(t)
			if err := chromedp.Do(ctx, chromedp.Navigate(r.Link)); err != nil {
				t.Fatal(err)
			}
			waitState(t, ctx, "decrypted")
			got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.identity`))
			title, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("verdict-title").textContent`))
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("verdict-text").textContent`))
			if got != tc.identity || !strings.Contains(title, tc.title) {
				t.Fatalf("page shows identity %q, title %q (want %q, %q)", got, title, tc.identity, tc.title)
			}
			if tc.identity == "verified" && !strings.Contains(text, "CHU de Lyon — UMJ") {
				t.Fatalf("verified verdict does not name the organisation: %q", text)
			}
		}
	})

	t.Run("five wrong codes lock the drop and tell the sender", func(t *testing.T) {
		r := doctor.send("rapport.pdf", "--link", "--code", "--to", officerMail)
		secrets = append(secrets, r.Link[strings.Index(r.Link, "#")+1:])
		ctx := e.tab(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(r.Link)); err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx, "code")
		for i := 0; i < 5; i++ {
			if _, err := runState(ctx, "code", "locked"); err != nil {
				t.Fatal(err)
			}
			typeCode(t, ctx, "0000000"+string(rune('1'+i)))
			if i < 4 {
				if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("code").value === "" && document.getElementById("code-error").textContent !== ""`)); err != nil {
					t.Fatal(err)
				}
			}
		}
		waitState(t, ctx, "locked")
		waitMail(t, smtp, doctorMail, "Document locked")
		res, err := http.Get(cfg.PublicURL + "/api/v1/drops/" + r.ID)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusLocked {
			t.Fatalf("info after lock: %d", res.StatusCode)
		}
	})

	t.Run("create a key in the page and publish it", func(t *testing.T) {
		r := doctor.send("rapport.pdf", "--to", officerMail)
		ctx := e.tab(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(r.Link)); err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx, "key")
		const newMail = "lt.durand@police.example"
		err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`#create-box summary`)),
			chromedp.SendKeys(chromedp.CSS(`#create-name`), "Lt Durand"),
			chromedp.SendKeys(chromedp.CSS(`#create-email`), newMail),
			chromedp.SendKeys(chromedp.CSS(`#create-pass`), "a long passphrase"),
			chromedp.SendKeys(chromedp.CSS(`#create-pass2`), "a long passphrase"),
			chromedp.Click(chromedp.CSS(`#create-form button[type=submit]`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		fpr, err := chromedp.Run(ctx, chromedp.Poll[string](`document.documentElement.dataset.keyPublished`))
		if err != nil {
			t.Fatal(err)
		}
		m := waitMail(t, smtp, newMail, "")
		if !strings.Contains(m.Data, "/verify/") {
			t.Errorf("verification mail without a link:\n%s", m.Data)
		}
		backup, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("backup").download`))
		if !strings.HasSuffix(backup, fpr[len(fpr)-16:]+".asc") {
			t.Errorf("backup file name %q for key %s", backup, fpr)
		}
		if log := rec.String(); !strings.Contains(log, "/vks/v1/upload") || strings.Contains(log, "PRIVATE KEY") {
			t.Fatal("the key was not uploaded, or its secret half was")
		}
		// The document was sealed for another key: the page still asks for it.
		if st, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.state`)); st != "key" {
			t.Errorf("state %q after creating a key", st)
		}
	})

	t.Run("secret never reaches the server", func(t *testing.T) {
		all := rec.String() + relayLog.String()
		if !strings.Contains(all, "/blob") {
			t.Fatal("no traffic recorded")
		}
		for _, s := range secrets {
			if len(s) < 40 || strings.Contains(all, s) {
				t.Fatalf("link secret %.6s… found in the request log or the relay's log", s)
			}
		}
		for _, m := range smtp.Messages(t) {
			for _, s := range secrets {
				if strings.Contains(m.Data, s) {
					t.Fatalf("link secret mailed by the relay in %q", decodedSubject(t, m))
				}
			}
		}
	})
}
