package spooler_test

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
	addr string
	env  []string
}

// startCupsd runs cupsd in the foreground on a free loopback port, its
// state in a temp directory that user lp can traverse (filters run as lp).
func startCupsd(t *testing.T) *cupsd {
	t.Helper()
	bin := testutil.NeedTool(t, "cupsd")
	dir, err := os.MkdirTemp("", "sealprint-cupsd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	for _, d := range []string{"spool", "spool/tmp", "cache", "state", "log", "ppd"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(dir, "spool"), 0o710)
	os.Chmod(filepath.Join(dir, "spool/tmp"), 0o1777)
	exec.Command("chgrp", "lp", filepath.Join(dir, "spool")).Run()
	addr := testutil.FreeAddr(t)
	conf := fmt.Sprintf("Listen %s\nLogLevel warn\nWebInterface No\nBrowsing No\nDefaultAuthType None\n"+
		"<Location />\n  Order allow,deny\n  Allow all\n</Location>\n<Policy default>\n  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n", addr)
	files := fmt.Sprintf("ServerRoot %[1]s\nRequestRoot %[1]s/spool\nCacheDir %[1]s/cache\nStateDir %[1]s/state\n"+
		"TempDir %[1]s/spool/tmp\nAccessLog %[1]s/log/access_log\nErrorLog %[1]s/log/error_log\nPageLog %[1]s/log/page_log\n"+
		"ServerBin /usr/lib/cups\nDataDir /usr/share/cups\nSystemGroup root\n", dir)
	os.WriteFile(filepath.Join(dir, "cupsd.conf"), []byte(conf), 0o644)
	os.WriteFile(filepath.Join(dir, "cups-files.conf"), []byte(files), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-f", "-c", filepath.Join(dir, "cupsd.conf"), "-s", filepath.Join(dir, "cups-files.conf"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	c := &cupsd{addr: addr, env: append(os.Environ(), "CUPS_SERVER="+addr)}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "log/error_log"))
			t.Logf("cupsd:\n%s\n%s", out.String(), tail(string(log), 40))
		}
	})
	for i := 0; ; i++ {
		if o, _ := c.output(t, "lpstat", "-r"); strings.Contains(o, "is running") {
			return c
		} else if i > 100 {
			t.Fatalf("cupsd did not start: %s\n%s", o, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// output runs a CUPS client command against the private scheduler.
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
