package cli

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/spooler"
)

// pkcs11Spy finds OpenSC's logging PKCS#11 module (apt opensc-pkcs11): it
// forwards every call to the module in PKCS11SPY and writes each to
// PKCS11SPY_OUTPUT.
func pkcs11Spy(t *testing.T) string {
	m, _ := filepath.Glob("/usr/lib/*/pkcs11/pkcs11-spy.so")
	if len(m) == 0 {
		t.Fatal("pkcs11-spy.so missing (apt opensc-pkcs11)")
	}
	return m[0]
}

// TestPINEntryThroughServe: the PDF signer is a SoftHSM2 token seen
// through pkcs11-spy, which counts the logins. A real 'sealprint serve'
// started with a wrong SEALPRINT_PKCS11_PIN tries it once, then holds
// every job as "PIN de la carte requis" without touching the card; a
// wrong PIN given with 'sealprint jobs pin' (the page's API) is one more
// login and the token's error; the right one signs and sends both jobs,
// and the recipient's 'open' reports the card's signature. No PIN reaches
// the logs or the spool.
func TestPINEntryThroughServe(t *testing.T) {
	testutil.NeedIntegration(t)
	spy := pkcs11Spy(t)
	ca := testutil.NewCA(t, "Test CA Santé")
	hsm := testutil.StartSoftHSM(t, ca, "Dr Carte")
	relay := startRelayProc(t)
	doctor, officer := newPerson(t), newPerson(t)
	doctor.must("keys", "generate", "--name", "Dr Carte", "--email", "carte@chu.example")
	doctor.must("enroll", "--relay", relay.url, "--token", relay.token(t, "Dr Carte"))
	spyLog := filepath.Join(t.TempDir(), "spy.log")
	spyEnv := []string{"PKCS11SPY=" + hsm.Module, "PKCS11SPY_OUTPUT=" + spyLog}
	if out, errs, err := doctor.runEnv(append(spyEnv[:1:1], "PKCS11SPY_OUTPUT="+spyLog+".setup", "SEALPRINT_PKCS11_PIN="),
		"pdfsign", "setup", "--pkcs11", spy, "--token-label", hsm.Label, "--key-label", hsm.KeyLabel); err != nil {
		t.Fatalf("pdfsign setup: %v\n%s%s", err, out, errs)
	}
	logins := func() int {
		b, _ := os.ReadFile(spyLog)
		return strings.Count(string(b), "C_Login\n") + strings.Count(string(b), "C_Login\r\n")
	}
	const envPIN, typedPIN = "FauxPIN-env-Kz", "FauxPIN-page-Qw"
	addr := testutil.FreeAddr(t)
	srv := startServe(t, doctor, addr, append(spyEnv, "SEALPRINT_PKCS11_PIN="+envPIN)...)
	me, _ := user.Current()

	held := func(name string) string {
		var id string
		waitFor(t, name+" held", func() bool {
			j := jobNamed(doctor.listJobs(), name)
			if j != nil && j.State == spooler.Held && !j.NeedsPIN {
				id = j.ID
				return true
			}
			return false
		})
		return id
	}
	waitPIN := func(id string) {
		waitFor(t, "job "+id+" waiting for the PIN", func() bool {
			for _, j := range doctor.listJobs() {
				if j.ID == id {
					return j.NeedsPIN
				}
			}
			return false
		})
	}
	ippPrint(t, addr, "sealed", me.Username, "rapport-carte-1", "Rapport signé par la carte\n")
	first := held("rapport-carte-1")
	out := doctor.must("jobs", "release", first, "--to", "opj@police.example", "--link", "--code")
	code := out[strings.LastIndex(out, " ")+1:]
	code = strings.TrimSpace(code)
	waitPIN(first)
	j := jobNamed(doctor.listJobs(), "rapport-carte-1")
	if !strings.Contains(j.Error, "CKR_PIN_INCORRECT") || !strings.Contains(j.Message, "PIN de la carte requis") {
		t.Fatalf("first job: error %q, message %q", j.Error, j.Message)
	}
	if n := logins(); n != 1 {
		t.Fatalf("%d logins with the wrong SEALPRINT_PKCS11_PIN, want 1", n)
	}
	// A second job waits too, without another login.
	ippPrint(t, addr, "sealed", me.Username, "rapport-carte-2", "Deuxième rapport\n")
	second := held("rapport-carte-2")
	doctor.must("jobs", "release", second, "--to", "opj@police.example", "--link", "--code")
	waitPIN(second)
	if n := logins(); n != 1 {
		t.Fatalf("%d logins after a second job, want still 1", n)
	}
	if page := doctor.must("jobs"); !strings.Contains(page, "PIN de la carte requis") {
		t.Fatalf("jobs does not say the PIN is needed:\n%s", page)
	}

	// A wrong PIN through the page's API: one login, the token's words.
	pin := func(p string) (string, string, error) {
		cmd := exec.Command(testutil.Binary(t, "sealprint"), "jobs", "pin", "--stdin")
		cmd.Env = append(os.Environ(), "SEALPRINT_HOME="+doctor.home, "SEALPRINT_KEYRING=file", "LANG=fr_FR.UTF-8")
		cmd.Stdin = strings.NewReader(p + "\n")
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		return o.String(), e.String(), err
	}
	if _, errs, err := pin(typedPIN); err == nil || !strings.Contains(errs, "CKR_PIN_INCORRECT") {
		t.Fatalf("wrong PIN: %v %q", err, errs)
	}
	if n := logins(); n != 2 {
		t.Fatalf("%d logins after one wrong PIN entered, want 2", n)
	}
	for _, id := range []string{first, second} {
		waitPIN(id)
	}
	// The right PIN: both jobs are signed and sent.
	if out, errs, err := pin(hsm.PIN); err != nil || !strings.Contains(out, "2 document(s)") {
		t.Fatalf("right PIN: %v %q %q", err, out, errs)
	}
	var sent *struct{ link, sig string }
	waitFor(t, "both jobs uploaded", func() bool {
		list := doctor.listJobs()
		a, b := jobNamed(list, "rapport-carte-1"), jobNamed(list, "rapport-carte-2")
		if a.SecretLink == "" || b.SecretLink == "" {
			return false
		}
		sent = &struct{ link, sig string }{a.SecretLink, a.PDFSignature}
		return true
	})
	if !strings.Contains(sent.sig, "Dr Carte") {
		t.Fatalf("PDF signature recorded: %q", sent.sig)
	}
	if n := logins(); n != 3 {
		t.Fatalf("%d logins in all, want 3", n)
	}
	opened := officer.must("open", sent.link, "-o", "got.pdf", "--code", code)
	if !strings.Contains(opened, "PDF signature: valid") || !strings.Contains(opened, "Dr Carte") {
		t.Fatalf("open printed:\n%s", opened)
	}
	// No PIN in the service's logs or on disk.
	srv.stop()
	for _, p := range []string{envPIN, typedPIN} {
		if strings.Contains(srv.logs.String(), p) {
			t.Errorf("serve logged the PIN %q", p)
		}
	}
	filepath.Walk(doctor.home, func(path string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(path)
			for _, p := range []string{envPIN, typedPIN, hsm.PIN} {
				if bytes.Contains(b, []byte(p)) {
					t.Errorf("%s holds the PIN %q", path, p)
				}
			}
		}
		return err
	})
}
