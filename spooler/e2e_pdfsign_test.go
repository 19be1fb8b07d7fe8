package spooler_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/pdfsign"
	"github.com/sealprint/sealprint/spooler"
)

// TestEndToEndCUPSPDFSignature: a job printed through a real CUPS queue
// reaches the recipient as a PDF signed (PAdES B-T) with the key of a
// SoftHSM2 token standing in for the doctor's card, timestamped by an
// openssl TSA; pdfsig and OpenSSL accept it and reject it once one byte
// is changed. With the TSA down the job waits instead of leaving without
// its timestamp.
func TestEndToEndCUPSPDFSignature(t *testing.T) {
	testutil.NeedIntegration(t)
	testutil.NeedTool(t, "lpadmin")
	pdfsig := testutil.NeedTool(t, "pdfsig")
	openssl := testutil.NeedTool(t, "openssl")
	ca := testutil.NewCA(t, "Test CA")
	tsa := testutil.StartTSA(t, ca)
	hsm := testutil.StartSoftHSM(t, ca, "Dr Carte CPS")
	t.Setenv("SEALPRINT_PKCS11_PIN", hsm.PIN)
	w := newWorld(t, "--poll", "300ms")
	w.sp(w.sender, "pdfsign", "setup", "--pkcs11", hsm.Module, "--token-label", hsm.Label, "--key-label", hsm.KeyLabel,
		"--tsa", tsa.URL, "--reason", "Rapport médico-légal", "--location", "Lyon")
	w.startServe()
	c := testutil.StartCupsd(t)
	c.AddEverywhere(t, "martin", "ipp://"+w.addr+"/ipp/print/martin")
	docs := filepath.Join(t.TempDir(), "docs")
	os.MkdirAll(docs, 0o755)
	os.Chmod(filepath.Dir(docs), 0o755)
	os.WriteFile(filepath.Join(docs, "report.pdf"), makePDF("Forensic report signed"), 0o644)
	if _, err := c.Output(t, "lp", "-d", "martin", "-o", "document-format=application/pdf", "-t", "report.pdf", filepath.Join(docs, "report.pdf")); err != nil {
		t.Fatal(err)
	}
	j := w.waitJob("report.pdf", spooler.Uploaded)
	// The job's record says what the PDF is and who signed it.
	if j.PDFA != "unknown" || j.PDFSignature != "PAdES B-T by Dr Carte CPS" {
		t.Fatalf("job record: pdfa %q, pdf signature %q", j.PDFA, j.PDFSignature)
	}
	got, res := w.openLink(j.Link)

	// sealprint open reports the PDF signature beside the OpenPGP one.
	ps, _ := res["pdf_signature"].(map[string]any)
	if res["verified"] != true || ps == nil || ps["valid"] != true {
		t.Fatalf("open --json: %v", res)
	}
	sigs, _ := ps["signatures"].([]any)
	if len(sigs) != 1 || sigs[0].(map[string]any)["level"] != "B-T" || sigs[0].(map[string]any)["signer_name"] != "Dr Carte CPS" {
		t.Fatalf("pdf_signature: %v", ps)
	}

	path := filepath.Join(w.dir, "received.pdf")
	os.WriteFile(path, got, 0o600)
	out, _ := exec.Command(pdfsig, path).CombinedOutput()
	for _, want := range []string{"Signature is Valid", "Total document signed", "Dr Carte CPS", "ETSI.CAdES.detached"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("pdfsig does not say %q:\n%s", want, out)
		}
	}
	t.Logf("pdfsig %s:\n%s", path, out)
	cms, ts := opensslChecks(t, openssl, got, ca)
	if !strings.Contains(cms, "Verification successful") || !strings.Contains(ts, "Verification: OK") {
		t.Fatalf("openssl: cms %q ts %q", cms, ts)
	}
	t.Logf("openssl cms: %sopenssl ts: %s", cms, ts)
	verify := w.sp(w.recipient, "pdfverify", path, "--ca", ca.File("ca.pem"))
	if !strings.Contains(verify, "trusted:  yes") || !strings.Contains(verify, "Result: validly signed") {
		t.Fatalf("pdfverify:\n%s", verify)
	}
	t.Logf("sealprint pdfverify:\n%s", verify)

	// One byte of the document changed after signing: every checker says
	// so.
	raws, err := pdfsign.RawSignatures(bytes.NewReader(got), int64(len(got)))
	if err != nil || len(raws) != 1 {
		t.Fatalf("signatures: %v", err)
	}
	bad := bytes.Clone(got)
	bad[raws[0].ByteRange[1]/2] ^= 0x01 // in the middle of the original document
	os.WriteFile(path, bad, 0o600)
	out, _ = exec.Command(pdfsig, path).CombinedOutput()
	if strings.Contains(string(out), "Signature is Valid") {
		t.Fatalf("pdfsig accepts a changed file:\n%s", out)
	}
	cms, _ = opensslChecks(t, openssl, bad, ca)
	if strings.Contains(cms, "Verification successful") {
		t.Fatalf("openssl cms accepts a changed file: %s", cms)
	}
	t.Logf("one byte changed: pdfsig:\n%s\nopenssl cms: %s", out, cms)
	if _, err := w.try([]string{"SEALPRINT_HOME=" + w.recipient}, w.sealprint, "pdfverify", path); err == nil {
		t.Fatal("pdfverify accepts a changed file")
	}

	// The TSA is down: the job fails with a reason and is not uploaded;
	// once the TSA is back, a retry sends it with its timestamp.
	tsa.Down.Store(true)
	os.WriteFile(filepath.Join(docs, "late.pdf"), makePDF("Forensic report late"), 0o644)
	if _, err := c.Output(t, "lp", "-d", "martin", "-o", "document-format=application/pdf", "-t", "late.pdf", filepath.Join(docs, "late.pdf")); err != nil {
		t.Fatal(err)
	}
	f := w.waitJob("late.pdf", spooler.Failed)
	if !strings.Contains(f.Error, "timestamp") || f.Link != "" {
		t.Fatalf("job without timestamp: %+v", f)
	}
	t.Logf("job held by the TSA: %s", f.Error)
	tsa.Down.Store(false)
	// The serve retries a failed job by itself after its backoff, and on a
	// loaded machine its retry can take the job before ours arrives: the
	// job is then no longer failed and ours is refused as such. Either
	// retry is the event awaited; what counts is the upload that follows.
	if _, err := w.try([]string{"SEALPRINT_HOME=" + w.sender}, w.sealprint, "jobs", "retry", f.ID); err != nil &&
		!strings.Contains(err.Error(), "cannot retry job "+f.ID+": it is ") {
		t.Fatalf("jobs retry: %v", err)
	}
	j = w.waitJob("late.pdf", spooler.Uploaded)
	_, res = w.openLink(j.Link)
	if ps, _ := res["pdf_signature"].(map[string]any); ps == nil || ps["valid"] != true {
		t.Fatalf("retried job: %v", res)
	}
}

// opensslChecks runs openssl cms -verify on the last signature of pdf over
// its byte range, and openssl ts -verify on its timestamp token with the
// SHA-256 of the signature value as the digest.
func opensslChecks(t *testing.T, openssl string, pdf []byte, ca *testutil.CA) (cms, ts string) {
	t.Helper()
	raws, err := pdfsign.RawSignatures(bytes.NewReader(pdf), int64(len(pdf)))
	if err != nil || len(raws) == 0 {
		t.Fatalf("no signature in the PDF: %v", err)
	}
	r := raws[len(raws)-1]
	dir := t.TempDir()
	br := r.ByteRange
	ranges := append(bytes.Clone(pdf[br[0]:br[0]+br[1]]), pdf[br[2]:br[2]+br[3]]...)
	os.WriteFile(filepath.Join(dir, "sig.der"), r.CMS, 0o600)
	os.WriteFile(filepath.Join(dir, "ranges.bin"), ranges, 0o600)
	out, _ := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", filepath.Join(dir, "sig.der"),
		"-content", filepath.Join(dir, "ranges.bin"), "-CAfile", ca.File("ca.pem"), "-purpose", "any", "-out", os.DevNull).CombinedOutput()
	cms = string(out)
	if r.TimestampToken != nil {
		os.WriteFile(filepath.Join(dir, "token.der"), r.TimestampToken, 0o600)
		sum := sha256.Sum256(r.SignatureValue)
		out, _ = exec.Command(openssl, "ts", "-verify", "-token_in", "-in", filepath.Join(dir, "token.der"),
			"-digest", hex.EncodeToString(sum[:]), "-CAfile", ca.File("ca.pem")).CombinedOutput()
		ts = string(out)
	}
	return cms, ts
}
