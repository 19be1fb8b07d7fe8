package cli

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
)

// startServeProc runs a real 'sealprint serve' for person p at addr.
func startServeProc(t *testing.T, p *person, addr string, extra ...string) {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t, "sealprint"), append([]string{"serve", "--listen", addr}, extra...)...)
	cmd.Env = append(os.Environ(), "SEALPRINT_HOME="+p.home, "SEALPRINT_KEYRING=file")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("serve log:\n%s", logs.String())
		}
	})
	if !waitListening(t.Context(), addr, 30*time.Second) {
		t.Fatalf("serve did not listen on %s:\n%s", addr, logs.String())
	}
}

// treeState lists every path under the roots with a digest of each file.
func treeState(t *testing.T, roots ...string) []string {
	var out []string
	for _, root := range roots {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			line := p + "/"
			if !d.IsDir() {
				b, _ := os.ReadFile(p)
				line = fmt.Sprintf("%s %x", p, sha256.Sum256(b))
			}
			out = append(out, line)
			return nil
		})
	}
	sort.Strings(out)
	return out
}

// TestInstallUninstallLeavesMachineAsBefore: on a machine where systemd is
// not PID 1, install says so, registers the printers with a real CUPS
// against a running 'sealprint serve', repairs on a second run, and
// uninstall leaves the file tree and lpstat as they were.
func TestInstallUninstallLeavesMachineAsBefore(t *testing.T) {
	testutil.NeedIntegration(t)
	cups := testutil.StartCupsd(t)
	t.Setenv("CUPS_SERVER", cups.Addr)
	// A printer of someone else, which must survive.
	other := testutil.FreeAddr(t)
	if err := cups.Run(t, "lpadmin", "-p", "theirs", "-E", "-v", "ipp://"+other+"/ipp/print/x"); err != nil {
		t.Fatal(err)
	}

	srv := newPerson(t)
	srv.must("keys", "generate", "--name", "Service", "--email", "svc@example.org")
	addr := testutil.FreeAddr(t)
	startServeProc(t, srv, addr)

	root := t.TempDir()
	cfgFile := filepath.Join(root, "site.json")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf(`{"printer":{"listen":%q}}`, addr)), 0o600)
	roots := []string{root, "/etc/xdg/autostart", "/etc/systemd/system", filepath.Join(cups.Dir, "ppd")}
	lpstat := func() string {
		out, _ := cups.Output(t, "lpstat", "-v")
		return out
	}
	beforeTree, beforeLP := treeState(t, roots...), lpstat()

	pc := &person{t: t, home: filepath.Join(root, "machine", "sealprint"), dir: root}
	t.Cleanup(func() { pc.run("uninstall") })
	out := pc.must("install", "--relay", "http://127.0.0.1:1", "--token", "tok-123", "--queue", "OPJ-Lyon=martin@police.example,duty@police.example", "--config", cfgFile, "--wait", "20s")
	if !strings.Contains(out, "service not registered: systemd is not PID 1") {
		t.Errorf("install did not say the service was not registered:\n%s", out)
	}
	got := lpstat()
	for _, want := range []string{"device for sealed: ipp://" + addr + "/ipp/print/sealed", "device for OPJ-Lyon: ipp://" + addr + "/ipp/print/OPJ-Lyon", "device for theirs:"} {
		if !strings.Contains(got, want) {
			t.Errorf("lpstat -v lacks %q:\n%s", want, got)
		}
	}
	cfg, _ := os.ReadFile(filepath.Join(pc.home, "config.json"))
	if !strings.Contains(string(cfg), `"duty@police.example"`) || !strings.Contains(string(cfg), `"relay": "http://127.0.0.1:1"`) {
		t.Errorf("config:\n%s", cfg)
	}
	// A printer deleted by hand comes back on the next install (repair).
	if err := cups.Run(t, "lpadmin", "-x", "OPJ-Lyon"); err != nil {
		t.Fatal(err)
	}
	pc.must("install", "--wait", "20s")
	if !strings.Contains(lpstat(), "device for OPJ-Lyon:") {
		t.Errorf("second install did not repair the queue:\n%s", lpstat())
	}
	pc.must("uninstall")
	if after := lpstat(); after != beforeLP {
		t.Errorf("lpstat -v before:\n%s\nafter:\n%s", beforeLP, after)
	}
	if after := treeState(t, roots...); strings.Join(after, "\n") != strings.Join(beforeTree, "\n") {
		t.Errorf("file tree changed:\nbefore:\n%s\nafter:\n%s", strings.Join(beforeTree, "\n"), strings.Join(after, "\n"))
	}
	// Uninstalling twice is harmless.
	if out := pc.must("uninstall"); !strings.Contains(out, "nothing to remove") {
		t.Errorf("second uninstall: %s", out)
	}
}
