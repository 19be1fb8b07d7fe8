package recipient_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The sample report is a valid PDF (checked with poppler's pdfinfo when present).
func TestSamplePDFIsValid(t *testing.T) {
	pdfinfo, err := exec.LookPath("pdfinfo")
	if err != nil {
		t.Skip("pdfinfo not installed")
	}
	f := filepath.Join(t.TempDir(), "s.pdf")
	if err := os.WriteFile(f, samplePDF(3), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdfinfo, f).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Pages:           3") || strings.Contains(string(out), "Syntax Error") {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
}
