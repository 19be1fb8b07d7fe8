package printer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
)

// cupsd is a private CUPS scheduler started for a test.
type cupsd struct {
	dir  string
	addr string
	env  []string
}

// startCupsd runs cupsd in the foreground on a free loopback port with its
// whole state in a temporary directory that user lp can traverse.
func startCupsd(t *testing.T) *cupsd {
	t.Helper()
	bin := testutil.NeedTool(t, "cupsd")
	dir, err := os.MkdirTemp("", "sealprint-cupsd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"spool", "spool/tmp", "cache", "state", "log", "ppd"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(dir, "spool"), 0o710)
	os.Chmod(filepath.Join(dir, "spool/tmp"), 0o1777)
	exec.Command("chgrp", "lp", filepath.Join(dir, "spool")).Run()
	addr := testutil.FreeAddr(t)
	conf := fmt.Sprintf(`Listen %s
LogLevel debug
MaxLogSize 0
WebInterface No
Browsing No
DefaultAuthType None
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
`, addr)
	files := fmt.Sprintf(`ServerRoot %[1]s
RequestRoot %[1]s/spool
CacheDir %[1]s/cache
StateDir %[1]s/state
TempDir %[1]s/spool/tmp
AccessLog %[1]s/log/access_log
ErrorLog %[1]s/log/error_log
PageLog %[1]s/log/page_log
ServerBin /usr/lib/cups
DataDir /usr/share/cups
SystemGroup root
`, dir)
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cupsd.conf", conf)
	write("cups-files.conf", files)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-f", "-c", filepath.Join(dir, "cupsd.conf"), "-s", filepath.Join(dir, "cups-files.conf"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	c := &cupsd{dir: dir, addr: addr, env: append(os.Environ(), "CUPS_SERVER="+addr)}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "log/error_log"))
			t.Logf("cupsd output:\n%s\nerror_log (tail):\n%s", out.String(), tail(string(log), 60))
		}
	})
	// Wait until the scheduler answers.
	for i := 0; ; i++ {
		// lpstat -r exits 0 either way; read its answer.
		if o, _ := c.output(t, "lpstat", "-r"); strings.Contains(o, "is running") {
			break
		} else if i > 100 {
			t.Fatalf("cupsd did not start: %s\n%s", o, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return c
}

// run runs a CUPS client command against the private scheduler.
func (c *cupsd) run(t *testing.T, name string, args ...string) error {
	t.Helper()
	_, err := c.output(t, name, args...)
	return err
}

// output runs a CUPS client command and returns its output.
func (c *cupsd) output(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(testutil.NeedTool(t, name), args...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// TestCUPSQueue adds the printer to a real cupsd with lpadmin -m everywhere
// and prints a PDF, a JPEG and a text file through it.
func TestCUPSQueue(t *testing.T) {
	testutil.NeedIntegration(t)
	testutil.NeedTool(t, "lpadmin")
	testutil.NeedTool(t, "lp")
	gsPath := testutil.NeedTool(t, "gs")
	sp := &memSpooler{}
	_, addr := startServer(t, sp, Config{})
	c := startCupsd(t)
	if err := c.run(t, "lpadmin", "-p", "sealed", "-E", "-v", QueueURI(addr, DefaultQueue), "-m", "everywhere"); err != nil {
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
		out, err := c.output(t, "lp", "-d", "sealed", "-t", filepath.Base(f), f)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s", filepath.Base(f), strings.TrimSpace(out))
	}
	// Wait for CUPS to finish every job (the backend waits for our
	// printer to report completed).
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, _ := c.output(t, "lpstat", "-o", "sealed")
		if strings.TrimSpace(out) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs still queued in CUPS:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	done, err := c.output(t, "lpstat", "-W", "completed", "-o", "sealed")
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
