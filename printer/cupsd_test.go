package printer

import (
	"bytes"
	"os"
	"os/exec"
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
	// Peers identified: CUPS' backend (root) relays each user's job
	// under the name CUPS gives it.
	_, addr := startServer(t, sp, Config{Peers: OSPeers()})
	c := testutil.StartCupsd(t)
	c.AddEverywhere(t, "sealed", QueueURI(addr, DefaultQueue))
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
	// As root, a second real account prints through CUPS too: its job
	// arrives under its own name.
	want := 3
	other := ""
	if os.Geteuid() == 0 {
		other = newLocalAccount(t)
		mine := filepath.Join(c.Dir, "other.txt")
		if err := os.WriteFile(mine, []byte("Another account's page.\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(testutil.NeedTool(t, "runuser"), "-u", other, "--", testutil.NeedTool(t, "lp"), "-d", "sealed", "-t", "other account", mine)
		cmd.Env = c.Env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("lp as %s: %v\n%s", other, err, out)
		}
		want = 4
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
	if n := len(strings.Split(strings.TrimSpace(done), "\n")); n != want {
		t.Fatalf("CUPS completed %d jobs, want %d:\n%s", n, want, done)
	}
	jobs, bodies := sp.accepted()
	if len(jobs) != want {
		t.Fatalf("spooler got %d jobs, want %d", len(jobs), want)
	}
	self, _ := CurrentAccount()
	for _, j := range jobs {
		wantUser := self.Name
		if j.Name == "other account" {
			wantUser = other
		}
		if j.User != wantUser {
			t.Errorf("job %q recorded as %q, want %q", j.Name, j.User, wantUser)
		}
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
