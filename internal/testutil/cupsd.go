package testutil

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
)

// Cupsd is a private CUPS scheduler started for a test: its own
// configuration and state in a temporary directory, listening on a free
// loopback port. Client commands (lpadmin, lp, lpstat) reach it through
// CUPS_SERVER in Env.
type Cupsd struct {
	Dir  string
	Addr string
	Env  []string
}

// StartCupsd runs cupsd in the foreground and waits until it answers. The
// directory is traversable by user lp, since CUPS filters run as lp.
func StartCupsd(t testing.TB) *Cupsd {
	t.Helper()
	bin := NeedTool(t, "cupsd")
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
	addr := FreeAddr(t)
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
	for name, text := range map[string]string{"cupsd.conf": conf, "cups-files.conf": files} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-f", "-c", filepath.Join(dir, "cupsd.conf"), "-s", filepath.Join(dir, "cups-files.conf"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	c := &Cupsd{Dir: dir, Addr: addr, Env: append(os.Environ(), "CUPS_SERVER="+addr)}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "log/error_log"))
			t.Logf("cupsd output:\n%s\nerror_log (tail):\n%s", out.String(), Tail(string(log), 60))
		}
	})
	for i := 0; ; i++ {
		// lpstat -r exits 0 either way; read its answer.
		if o, _ := c.Output(t, "lpstat", "-r"); strings.Contains(o, "is running") {
			return c
		} else if i > 100 {
			t.Fatalf("cupsd did not start: %s\n%s", o, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Run runs a CUPS client command against the scheduler.
func (c *Cupsd) Run(t testing.TB, name string, args ...string) error {
	t.Helper()
	_, err := c.Output(t, name, args...)
	return err
}

// AddEverywhere runs lpadmin -p name -E -v uri -m everywhere, then any
// further lpadmin options, failing the test if it never succeeds, and
// waits until the queue takes PDF (WaitPDF). lpadmin
// builds the queue from the printer's answer to Get-Printer-Attributes;
// under load it now and then fails before asking ("No such file or
// directory"), so it is tried up to 5 times, a second apart.
func (c *Cupsd) AddEverywhere(t testing.TB, name, uri string, more ...string) {
	t.Helper()
	args := append([]string{"-p", name, "-E", "-v", uri, "-m", "everywhere"}, more...)
	var err error
	for try := 1; try <= 5; try++ {
		if _, err = c.Output(t, "lpadmin", args...); err == nil {
			c.WaitPDF(t, name)
			return
		}
		t.Logf("lpadmin %s, try %d: %v", name, try, err)
		time.Sleep(time.Second)
	}
	t.Fatal(err)
}

// WaitPDF waits until the queue name takes PDF: cupsd sets a new queue's
// formats (from its PPD's filters) lazily, and a job sent before that
// under load was aborted, "Unable to convert file 0 to printable
// format". The queue's document-format-supported, which cupsd derives
// from those filters, tells when they are in place.
func (c *Cupsd) WaitPDF(t testing.TB, name string) {
	t.Helper()
	uri := "ipp://" + c.Addr + "/printers/" + name
	var out string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out, _ = c.Output(t, "ipptool", "-tv", uri, "get-printer-attributes.test")
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "document-format-supported") && strings.Contains(line, "application/pdf") {
				return
			}
		}
	}
	t.Fatalf("queue %s never took application/pdf:\n%s", name, Tail(out, 40))
}

// Output runs a CUPS client command and returns its combined output.
func (c *Cupsd) Output(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(NeedTool(t, name), args...)
	cmd.Env = c.Env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
