package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
)

// buildPackages runs scripts/package for the parts named by only (amd64)
// into a temporary directory.
func buildPackages(t *testing.T, only string) string {
	t.Helper()
	dist := t.TempDir()
	cmd := exec.Command(filepath.Join(testutil.ModuleRoot(), "scripts", "package"))
	cmd.Env = append(os.Environ(), "DIST="+dist, "ONLY="+only, "ARCHES=amd64", "VERSION=0.1.0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/package: %v\n%s", err, out)
	}
	return dist
}

// unitDirectives reads the Key=Value lines of a systemd unit file.
func unitDirectives(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			m[k] = append(m[k], v)
		}
	}
	return m
}

// envFile reads KEY=VALUE lines as systemd's EnvironmentFile does (no
// quotes used in ours).
func envFile(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") && strings.Contains(line, "=") {
			out = append(out, line)
		}
	}
	return out
}

// startAsUnit runs a command the way its systemd unit would: its user, its
// Environment= and EnvironmentFile= settings, then extra (the test's
// overrides, like a drop-in). $VAR in the command line is expanded from
// that environment, split on spaces as systemd does for unquoted $VAR.
func startAsUnit(t *testing.T, unitPath string, extra ...string) *exec.Cmd {
	t.Helper()
	u := unitDirectives(t, unitPath)
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	env = append(env, u["Environment"]...)
	for _, f := range u["EnvironmentFile"] {
		optional := strings.HasPrefix(f, "-")
		f = strings.TrimPrefix(f, "-")
		if _, err := os.Stat(f); err != nil && optional {
			continue
		}
		env = append(env, envFile(t, f)...)
	}
	env = append(env, extra...)
	lookup := func(k string) string {
		v := ""
		for _, kv := range env {
			if strings.HasPrefix(kv, k+"=") {
				v = strings.TrimPrefix(kv, k+"=")
			}
		}
		return v
	}
	var argv []string
	for _, f := range strings.Fields(u["ExecStart"][0]) {
		if strings.HasPrefix(f, "$") {
			argv = append(argv, strings.Fields(lookup(strings.TrimPrefix(f, "$")))...)
			continue
		}
		argv = append(argv, f)
	}
	if usr := u["User"]; len(usr) > 0 {
		argv = append([]string{"setpriv", "--reuid", usr[0], "--regid", u["Group"][0], "--init-groups", "--"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s log:\n%s", filepath.Base(unitPath), testutil.Tail(logs.String(), 80))
		}
	})
	return cmd
}

func dpkg(t *testing.T, env []string, args ...string) (string, error) {
	cmd := exec.Command("dpkg", args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestDebPackages installs sealrelay and sealprint from their .deb files
// on this machine (a private cupsd, no systemd: each service is started
// from its installed unit as systemd would), prints to a queue the
// postinst registered, finds the drop on the installed relay, and removes
// both packages, leaving no queue, unit or data behind.
func TestDebPackages(t *testing.T) {
	testutil.NeedIntegration(t)
	for _, tool := range []string{"dpkg", "setpriv", "gs", "lp", "lpstat"} {
		testutil.NeedTool(t, tool)
	}
	if os.Geteuid() != 0 {
		t.Fatal("installing packages needs root")
	}
	for _, p := range []string{"sealprint", "sealrelay"} {
		if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", p).Output(); err == nil && strings.Contains(string(out), "installed") {
			t.Fatalf("package %s is already installed on this machine: not touching it", p)
		}
	}
	_, userErr := user.Lookup("sealrelay")
	hadUser := userErr == nil
	dist := buildPackages(t, "deb")
	cups := testutil.StartCupsd(t)
	env := append(os.Environ(), "CUPS_SERVER="+cups.Addr, "DEBIAN_FRONTEND=noninteractive")
	t.Cleanup(func() {
		for _, p := range []string{"sealprint", "sealrelay"} {
			if out, err := dpkg(t, env, "--purge", p); err != nil {
				t.Logf("dpkg --purge %s: %v\n%s", p, err, out)
			}
		}
		if !hadUser {
			exec.Command("userdel", "sealrelay").Run()
		}
	})

	// The relay.
	if out, err := dpkg(t, env, "-i", filepath.Join(dist, "sealrelay_0.1.0_amd64.deb")); err != nil {
		t.Fatalf("dpkg -i sealrelay: %v\n%s", err, out)
	}
	for _, f := range []string{"/lib/systemd/system/sealrelay.service", "/etc/sealrelay/sealrelay.env", "/usr/bin/sealrelay"} {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
	unit, _ := os.ReadFile("/lib/systemd/system/sealrelay.service")
	for _, want := range []string{"ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes", "ReadWritePaths=/var/lib/sealrelay", "CapabilityBoundingSet=\n", "User=sealrelay"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("sealrelay.service lacks %q", want)
		}
	}
	if conf, _ := os.ReadFile("/var/lib/dpkg/info/sealrelay.conffiles"); !strings.Contains(string(conf), "/etc/sealrelay/sealrelay.env") {
		t.Errorf("sealrelay conffiles: %q", conf)
	}
	relayAddr := testutil.FreeAddr(t)
	relayURL := "http://" + relayAddr
	startAsUnit(t, "/lib/systemd/system/sealrelay.service", "SEALRELAY_ARGS=--listen "+relayAddr+" --public-url "+relayURL)
	if err := waitHealthy(context.Background(), relayURL); err != nil {
		t.Fatal(err)
	}
	asRelay := func(args ...string) string {
		out, err := exec.Command("setpriv", append([]string{"--reuid", "sealrelay", "--regid", "sealrelay", "--init-groups", "--", "/usr/bin/sealrelay"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("sealrelay %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	token := strings.TrimSpace(asRelay("token", "create", "--data", "/var/lib/sealrelay", "--name", "Site CHU"))
	if i := strings.LastIndex(token, "\n"); i >= 0 {
		token = strings.TrimSpace(token[i:])
	}
	if ents, _ := os.ReadDir("/var/lib/sealrelay"); len(ents) == 0 {
		t.Fatal("the relay keeps nothing under /var/lib/sealrelay")
	}

	// The printer: settings as the env file would carry them.
	officer := newPerson(t)
	officer.must("keys", "generate", "--name", "Cdt Martin", "--email", "martin@police.example")
	martin := filepath.Join(officer.dir, "martin.asc")
	os.WriteFile(martin, []byte(officer.must("keys", "export", "martin@police.example")), 0o644)
	listen := testutil.FreeAddr(t)
	settings := []string{"SEALPRINT_RELAY=" + relayURL, "SEALPRINT_TOKEN=" + token, "SEALPRINT_LISTEN=" + listen,
		"SEALPRINT_QUEUES=OPJ-Lyon=martin@police.example", "SEALPRINT_POSTINST_WAIT=120s"}
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := dpkg(t, append(append([]string(nil), env...), settings...), "-i", filepath.Join(dist, "sealprint_0.1.0_amd64.deb"))
		done <- result{out, err}
	}()
	// The postinst writes config and key, then waits for the service,
	// which systemd would start: start it from the installed unit.
	for i := 0; ; i++ {
		if _, err := os.Stat("/var/lib/sealprint/install.json"); err == nil {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("dpkg -i sealprint ended before the service started: %v\n%s", r.err, r.out)
		case <-time.After(200 * time.Millisecond):
		}
	}
	svc := startAsUnit(t, "/lib/systemd/system/sealprint.service", append([]string{"CUPS_SERVER=" + cups.Addr}, settings...)...)
	r := <-done
	if r.err != nil {
		t.Fatalf("dpkg -i sealprint: %v\n%s", r.err, r.out)
	}
	if !strings.Contains(r.out, "printer OPJ-Lyon → ipp://"+listen+"/ipp/print/OPJ-Lyon") {
		t.Errorf("postinst did not register the queues:\n%s", r.out)
	}
	lp, _ := cups.Output(t, "lpstat", "-v")
	for _, q := range []string{"sealed", "OPJ-Lyon"} {
		if !strings.Contains(lp, fmt.Sprintf("device for %s: ipp://%s/ipp/print/%s", q, listen, q)) {
			t.Errorf("lpstat -v lacks %s:\n%s", q, lp)
		}
	}
	if st, err := os.Stat("/etc/sealprint/sealprint.env"); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("/etc/sealprint/sealprint.env: %v %v", st, err)
	}

	// A print to the queue becomes a drop on the relay.
	pc := []string{"SEALPRINT_HOME=/var/lib/sealprint", "SEALPRINT_KEYRING=file"}
	imp := exec.Command("/usr/bin/sealprint", "keys", "import", martin)
	imp.Env = append(os.Environ(), pc...)
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("keys import: %v\n%s", err, out)
	}
	pdf := filepath.Join(t.TempDir(), "report.pdf")
	if out, err := exec.Command("gs", "-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=pdfwrite", "-sOutputFile="+pdf,
		"-c", "/Helvetica findfont 20 scalefont setfont 72 700 moveto (Rapport scelle) show showpage").CombinedOutput(); err != nil {
		t.Fatalf("gs: %v\n%s", err, out)
	}
	// The service registered the queue; cupsd sets its formats a moment
	// later (lp said "Unsupported document-format" when sent first).
	cups.WaitPDF(t, "OPJ-Lyon")
	if err := cups.Run(t, "lp", "-d", "OPJ-Lyon", pdf); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		drops := asRelay("drops", "list", "--data", "/var/lib/sealrelay")
		if strings.Count(strings.TrimSpace(drops), "\n") >= 1 {
			break
		}
		if i > 300 {
			jobs := exec.Command("/usr/bin/sealprint", "jobs")
			jobs.Env = append(os.Environ(), pc...)
			out, _ := jobs.CombinedOutput()
			q, _ := cups.Output(t, "lpstat", "-W", "all", "-o", "-p", "-l")
			elog, _ := os.ReadFile(filepath.Join(cups.Dir, "log", "error_log"))
			t.Fatalf("no drop on the relay after the print:\n%s\njobs:\n%s\nlpstat:\n%s\nerror_log:\n%s", drops, out, q, testutil.Tail(grepLines(string(elog), "[Job "), 60))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Removal: systemd would stop the service in prerm; the prerm removes
	// the queues.
	svc.Process.Kill()
	svc.Wait()
	if out, err := dpkg(t, append(append([]string(nil), env...), settings...), "-r", "sealprint"); err != nil {
		t.Fatalf("dpkg -r sealprint: %v\n%s", err, out)
	}
	lp, _ = cups.Output(t, "lpstat", "-v")
	if strings.Contains(lp, "OPJ-Lyon") || strings.Contains(lp, "sealed") {
		t.Errorf("queues left after dpkg -r:\n%s", lp)
	}
	for _, f := range []string{"/lib/systemd/system/sealprint.service", "/usr/bin/sealprint"} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s left after dpkg -r", f)
		}
	}
	if out, err := dpkg(t, env, "--purge", "sealprint"); err != nil {
		t.Fatalf("dpkg --purge sealprint: %v\n%s", err, out)
	}
	for _, f := range []string{"/etc/sealprint", "/var/lib/sealprint"} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s left after purge", f)
		}
	}
}

// grepLines keeps the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestRpmPackages checks what the .rpm files hold (they are not installed
// here: this Debian machine has rpm but no rpm database to install into).
func TestRpmPackages(t *testing.T) {
	testutil.NeedIntegration(t)
	testutil.NeedTool(t, "rpm")
	dist := buildPackages(t, "rpm")
	for pkg, wants := range map[string][]string{
		"sealprint-0.1.0-1.x86_64.rpm": {"/usr/bin/sealprint", "/lib/systemd/system/sealprint.service", "/etc/sealprint/sealprint.env", "sealprint install --no-service", "sealprint uninstall --keep-data", "configure|1|2", "remove|deconfigure|0"},
		"sealrelay-0.1.0-1.x86_64.rpm": {"/usr/bin/sealrelay", "/lib/systemd/system/sealrelay.service", "/etc/sealrelay/sealrelay.env", "/var/lib/sealrelay", "useradd --system"},
	} {
		var out []byte
		for _, q := range []string{"--list", "--scripts"} {
			o, err := exec.Command("rpm", "-qp", q, filepath.Join(dist, pkg)).CombinedOutput()
			if err != nil {
				t.Fatalf("rpm -qp %s %s: %v\n%s", q, pkg, err, o)
			}
			out = append(out, o...)
		}
		for _, want := range wants {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s lacks %q:\n%s", pkg, want, out)
			}
		}
	}
}
