package printer

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
)

// TestCUPSQueue adds the printer to a real cupsd with lpadmin -m everywhere
// and prints a PDF, a JPEG and a text file through it.
func TestCUPSQueue(t *testing.T) {
	testutil.NeedIntegration(t)
	testutil.NeedTool(t, "lpadmin")
	testutil.NeedTool(t, "lp")
	gsPath := testutil.NeedTool(t, "gs")
	sp := &memSpooler{}
	_, addr := startServer(t, sp, Config{})
	c := testutil.StartCupsd(t)
	if err := c.Run(t, "lpadmin", "-p", "sealed", "-E", "-v", QueueURI(addr, DefaultQueue), "-m", "everywhere"); err != nil {
		t.Fatal(err)
	}
	docs := t.TempDir()
	src := filepath.Join(docs, "src.ps")
	writePS(t, src, 2)
	pdf := filepath.Join(docs, "report.pdf")
	jpg := filepath.Join(docs, "photo.jpg")
	txt := filepath.Join(docs, "notes.txt")
	gs(t, gsPath, "-sDEVICE=pdfwrite", "-sPAPERSIZE=a4", "-o", pdf, src)
	gs(t, gsPath, "-sDEVICE=jpeg", "-r50", "-o", jpg, filepath.Join(docs, "src.ps"))
	if err := os.WriteFile(txt, []byte("Forensic report, confidential.\nLine two.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{pdf, jpg, txt} {
		out, err := c.Output(t, "lp", "-d", "sealed", "-t", filepath.Base(f), f)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s", filepath.Base(f), strings.TrimSpace(out))
	}
	// Wait for CUPS to finish every job (the backend waits for our
	// printer to report completed).
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, _ := c.Output(t, "lpstat", "-o", "sealed")
		if strings.TrimSpace(out) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs still queued in CUPS:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	done, err := c.Output(t, "lpstat", "-W", "completed", "-o", "sealed")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Split(strings.TrimSpace(done), "\n")); n != 3 {
		t.Fatalf("CUPS completed %d jobs, want 3:\n%s", n, done)
	}
	jobs, bodies := sp.accepted()
	if len(jobs) != 3 {
		t.Fatalf("spooler got %d jobs, want 3", len(jobs))
	}
	for _, j := range jobs {
		if len(bodies[j.ID]) == 0 {
			t.Errorf("job %q: no bytes", j.Name)
		}
		t.Logf("spooled %q format %s, %d bytes, user %s, attrs %v", j.Name, j.Format, len(bodies[j.ID]), j.User, j.Attrs)
		if got := sniffFormat(bodies[j.ID]); got != j.Format {
			t.Errorf("job %q: declared %s but data looks like %s", j.Name, j.Format, got)
		}
		if j.Format == "image/jpeg" {
			want, _ := os.ReadFile(jpg)
			if !bytes.Equal(bodies[j.ID], want) {
				t.Errorf("JPEG arrived altered (%d bytes, sent %d)", len(bodies[j.ID]), len(want))
			}
		}
	}
}
