package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sealprint/sealprint/relay"
	"github.com/sealprint/sealprint/render"
)

const demoUsage = `sealprint demo [--keep] [--listen ADDR]

Runs the whole product in one process, on embedded defaults, in a temporary
directory: starts a relay, creates a sender (a doctor) and a recipient (a
police officer) with their keys, renders a sample report to PDF, sends it
sealed in key mode and in link mode with an access code, opens both links
as the recipient and checks the bytes and the signature. --keep leaves the
relay running and prints how to try it by hand.`

// demo holds the state of one demo run.
type demo struct {
	e        *env
	dir      string
	relayURL string
	token    string
	step     int
}

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlags("demo", demoUsage, e.stderr)
	keep := fs.Bool("keep", false, "keep the relay running after the demo (Ctrl-C to stop)")
	listen := fs.String("listen", "127.0.0.1:0", "relay address (port 0: any free port)")
	_, err := parsePositional(fs, args, 0, 0, demoUsage)
	if err != nil {
		return err
	}
	start := time.Now()
	dir, err := os.MkdirTemp("", "sealprint-demo-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	d := &demo{e: e, dir: dir}

	d.say("starting an embedded relay (data in %s)", filepath.Join(dir, "relay"))
	stop, err := d.startRelay(ctx, *listen)
	if err != nil {
		return err
	}
	defer stop()
	d.detail("relay at %s, healthy", d.relayURL)

	d.say("creating the sender (Dr Durand) and the recipient (Cdt Martin) with their keys")
	if err := d.cmd("sender", "keys", "generate", "--name", "Dr Claire Durand", "--email", "claire.durand@chu.example"); err != nil {
		return err
	}
	if err := d.cmd("recipient", "keys", "generate", "--name", "Cdt Paul Martin", "--email", "paul.martin@police.example"); err != nil {
		return err
	}
	if err := d.exchangeKeys(); err != nil {
		return err
	}
	if err := d.cmd("sender", "enroll", "--relay", d.relayURL, "--token", d.token); err != nil {
		return err
	}
	d.detail("keys exchanged, sender enrolled with an enrolment token")

	d.say("rendering a sample forensic report to PDF")
	report := filepath.Join(dir, "rapport-medico-legal.pdf")
	info, err := writeSampleReport(ctx, report)
	if err != nil {
		return err
	}
	want, err := fileSHA256(report)
	if err != nil {
		return err
	}
	d.detail("%s: %d page(s), sha256 %s", filepath.Base(report), info.Pages, want[:16]+"…")

	d.say("sending it sealed to Cdt Martin's key (key mode)")
	var keySend sendResult
	if err := d.cmdJSON("sender", &keySend, "send", report, "--to", "paul.martin@police.example", "--json"); err != nil {
		return err
	}
	d.detail("link: %s", keySend.Link)
	if err := d.checkStoredCiphertext(report); err != nil {
		return err
	}
	d.detail("the relay's data directory holds no plaintext")

	d.say("opening the link as Cdt Martin")
	if err := d.openAndCheck(keySend.Link, "", "key-mode.pdf", want); err != nil {
		return err
	}

	d.say("sending it again in link mode with an access code (recipient without a key)")
	var linkSend sendResult
	if err := d.cmdJSON("sender", &linkSend, "send", report, "--link", "--code", "--expires", "2d", "--max-downloads", "3", "--json"); err != nil {
		return err
	}
	d.detail("link: %s", linkSend.Link)
	d.detail("code: %s (passed by phone)", linkSend.Code)

	d.say("opening the link-mode drop with the code, as someone without any key")
	if err := d.openAndCheck(linkSend.Link, linkSend.Code, "link-mode.pdf", want); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\ndemo passed in %.1fs: both documents arrived intact and signed by Dr Claire Durand.\n", time.Since(start).Seconds())
	if !*keep {
		return nil
	}
	fmt.Fprintf(e.stdout, `
The relay keeps running at %s (Ctrl-C to stop). Try it by hand:
  open this link in a browser:  %s
  or, as the recipient:          SEALPRINT_HOME=%s sealprint open '%s' --code %s
  as the sender, send more:      SEALPRINT_HOME=%s sealprint send FILE --link
`, d.relayURL, linkSend.Link, d.home("recipient"), linkSend.Link, linkSend.Code, d.home("sender"))
	<-ctx.Done()
	return nil
}

// say prints a numbered step.
func (d *demo) say(format string, a ...any) {
	d.step++
	fmt.Fprintf(d.e.stdout, "[%d] %s\n", d.step, fmt.Sprintf(format, a...))
}

func (d *demo) detail(format string, a ...any) {
	fmt.Fprintf(d.e.stdout, "    %s\n", fmt.Sprintf(format, a...))
}

func (d *demo) home(who string) string { return filepath.Join(d.dir, who) }

// cmd runs a sealprint command as who (a home directory of the demo).
func (d *demo) cmd(who string, args ...string) error {
	var out, errb bytes.Buffer
	if err := d.run(who, &out, &errb, args...); err != nil {
		return fmt.Errorf("demo: sealprint %s: %v", strings.Join(args, " "), err)
	}
	return nil
}

func (d *demo) cmdJSON(who string, v any, args ...string) error {
	var out, errb bytes.Buffer
	if err := d.run(who, &out, &errb, args...); err != nil {
		return fmt.Errorf("demo: sealprint %s: %v", args[0], err)
	}
	if err := json.Unmarshal(out.Bytes(), v); err != nil {
		return fmt.Errorf("demo: sealprint %s printed %q: %w", args[0], out.String(), err)
	}
	return nil
}

// run executes a command in-process with its own environment.
func (d *demo) run(who string, stdout, stderr io.Writer, args ...string) error {
	vars := map[string]string{
		"SEALPRINT_HOME":    d.home(who),
		"SEALPRINT_KEYRING": "file", // the demo never touches the OS keyring
		"SEALPRINT_PROXY":   "direct",
	}
	getenv := func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		if strings.HasPrefix(k, "SEALPRINT_") {
			return ""
		}
		return d.e.getenv(k)
	}
	sub := &env{stdin: strings.NewReader(""), stdout: stdout, stderr: stderr, getenv: getenv}
	err := dispatch(context.Background(), sub, "sealprint", senderCommands(), args)
	if err != nil {
		if msg := strings.TrimSpace(stderr.(*bytes.Buffer).String()); msg != "" {
			return fmt.Errorf("%v (%s)", err, oneLine(msg))
		}
	}
	return err
}

// exchangeKeys gives each side the other's public key.
func (d *demo) exchangeKeys() error {
	for _, pair := range [][3]string{
		{"sender", "claire.durand@chu.example", "recipient"},
		{"recipient", "paul.martin@police.example", "sender"},
	} {
		var pub, errb bytes.Buffer
		if err := d.run(pair[0], &pub, &errb, "keys", "export", pair[1]); err != nil {
			return err
		}
		f := filepath.Join(d.dir, pair[0]+".asc")
		if err := os.WriteFile(f, pub.Bytes(), 0o644); err != nil {
			return err
		}
		if err := d.cmd(pair[2], "keys", "import", f); err != nil {
			return err
		}
	}
	return nil
}

// openAndCheck opens a link as the recipient and compares the document.
func (d *demo) openAndCheck(link, code, name, want string) error {
	out := filepath.Join(d.dir, name)
	args := []string{"open", link, "-o", out, "--json"}
	if code != "" {
		args = append(args, "--code", code)
	}
	var res openResult
	who := "recipient"
	if code != "" {
		who = "stranger" // link mode needs no key at all
	}
	if err := d.cmdJSON(who, &res, args...); err != nil {
		return err
	}
	got, err := fileSHA256(out)
	if err != nil {
		return err
	}
	if got != want || res.SHA256 != want {
		return fmt.Errorf("demo: the opened document differs from the original (sha256 %s, want %s)", got, want)
	}
	if !res.Verified || !strings.Contains(res.Signer, "claire.durand@chu.example") {
		return fmt.Errorf("demo: signature not verified (%+v)", res)
	}
	d.detail("decrypted %s: sha256 matches the original", filepath.Base(out))
	d.detail("good signature from %s", res.Signer)
	return nil
}

// startRelay runs a relay in this process on listen and creates a sender
// token; the returned function stops it.
func (d *demo) startRelay(ctx context.Context, listen string) (func(), error) {
	dataDir := filepath.Join(d.dir, "relay")
	cfg, closer, err := relay.DataDir{Root: dataDir}.Open()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		closer.Close()
		return nil, fmt.Errorf("demo: listen: %w", err)
	}
	d.relayURL = "http://" + ln.Addr().String()
	cfg.PublicURL = d.relayURL
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	rs, err := relay.New(cfg)
	if err != nil {
		ln.Close()
		closer.Close()
		return nil, err
	}
	_, token, err := relay.CreateSender(ctx, cfg.Store, "Dr Claire Durand (CHU demo)", "", time.Now())
	if err != nil {
		ln.Close()
		closer.Close()
		return nil, err
	}
	d.token = token
	srv := &http.Server{
		Handler:           relayMux(relayParts{relay: rs, dataDir: dataDir, publicURL: d.relayURL, logger: cfg.Logger}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.Serve(ln)
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		rs.Close()
		closer.Close()
	}
	if err := waitHealthy(ctx, d.relayURL); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// waitHealthy polls /healthz until it answers 200.
func waitHealthy(ctx context.Context, base string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("relay at %s not healthy after 10s", base)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// checkStoredCiphertext searches the relay's data directory for pieces of
// the report (its PDF header, a run of bytes from its middle, its phrase):
// only ciphertext may be there.
func (d *demo) checkStoredCiphertext(report string) error {
	pdf, err := os.ReadFile(report)
	if err != nil {
		return err
	}
	markers := [][]byte{[]byte("%PDF-"), []byte(sampleMarker)}
	if len(pdf) > 200 {
		markers = append(markers, pdf[len(pdf)/2:len(pdf)/2+32])
	}
	return filepath.Walk(filepath.Join(d.dir, "relay"), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range markers {
			if bytes.Contains(b, m) {
				return errors.New("demo: plaintext found in the relay's storage: " + path)
			}
		}
		return nil
	})
}

// sampleMarker is a phrase of the sample report that must never appear in
// the relay's storage.
const sampleMarker = "CONSTATATIONS"

// writeSampleReport renders a short report (text) to a PDF file.
func writeSampleReport(ctx context.Context, path string) (render.Info, error) {
	text := `CENTRE HOSPITALIER UNIVERSITAIRE — UNITÉ MÉDICO-JUDICIAIRE

RAPPORT D'EXAMEN MÉDICO-LÉGAL (document de démonstration)

Requérant : Cdt Paul Martin, OPJ
Examen réalisé par : Dr Claire Durand
Date : ` + time.Now().Format("02/01/2006 15:04") + `

` + sampleMarker + ` :
Personne examinée en garde à vue. Aucun élément médical ne s'oppose au
maintien de la mesure. Ce texte est un exemple : il ne décrit personne.

Le présent document a été scellé sur le poste du médecin (OpenPGP) et
n'a jamais transité en clair sur le réseau ni sur le relais.
`
	f, err := os.Create(path)
	if err != nil {
		return render.Info{}, err
	}
	info, err := render.ToPDF(ctx, "text/plain", strings.NewReader(text), f, render.Meta{
		Title: "Rapport médico-légal (démonstration)", Author: "Dr Claire Durand",
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return info, err
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
