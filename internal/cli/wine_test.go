package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/config"
	"github.com/sealprint/sealprint/internal/testutil"
)

// processPrngC is a stand-in for Windows' bcryptprimitives.dll, which Wine 8
// lacks and Go ≥ 1.22 needs at start: ProcessPrng on top of RtlGenRandom.
const processPrngC = `#include <windows.h>
typedef BOOLEAN (WINAPI *genrandom)(PVOID, ULONG);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	static genrandom f;
	if (!f) f = (genrandom)GetProcAddress(LoadLibraryA("advapi32.dll"), "SystemFunction036");
	if (!f) return FALSE;
	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!f(data, n)) return FALSE;
		data += n; len -= n;
	}
	return TRUE;
}
`

// wine is a private Wine prefix.
type wine struct {
	t      *testing.T
	bin    string
	prefix string
	env    []string
}

const wine64 = "/usr/lib/wine/wine64"

func newWine(t *testing.T) *wine {
	t.Helper()
	for _, tool := range []string{wine64, "x86_64-w64-mingw32-gcc", "wineserver"} {
		testutil.NeedTool(t, tool)
	}
	prefix := t.TempDir()
	w := &wine{t: t, bin: wine64, prefix: prefix,
		env: append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=", "DISPLAY=")}
	t.Cleanup(func() {
		// Ends the processes of this prefix only (its wineserver).
		cmd := exec.Command("wineserver", "-k")
		cmd.Env = w.env
		cmd.Run()
	})
	if out, err := w.cmd("wineboot", "-i").CombinedOutput(); err != nil {
		t.Fatalf("wineboot: %v\n%s", err, out)
	}
	src := filepath.Join(t.TempDir(), "prng.c")
	os.WriteFile(src, []byte(processPrngC), 0o644)
	dll := filepath.Join(w.prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	if out, err := exec.Command("x86_64-w64-mingw32-gcc", "-shared", "-O2", "-o", dll, src).CombinedOutput(); err != nil {
		t.Fatalf("build bcryptprimitives.dll: %v\n%s", err, out)
	}
	return w
}

func (w *wine) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(w.bin, args...)
	cmd.Env = w.env
	return cmd
}

// run runs a Windows program and returns stdout, stderr.
func (w *wine) run(extraEnv []string, args ...string) (string, string, error) {
	cmd := w.cmd(args...)
	cmd.Env = append(cmd.Env, extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	// A process the command started (msiexec starting the service) can
	// keep its output open after it exited: stop reading then.
	cmd.WaitDelay = 15 * time.Second
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil
	}
	return out.String(), errb.String(), err
}

func (w *wine) must(extraEnv []string, args ...string) string {
	w.t.Helper()
	out, errs, err := w.run(extraEnv, args...)
	if err != nil {
		w.t.Fatalf("wine %s: %v\n%s\n%s", strings.Join(args, " "), err, out, errs)
	}
	return out
}

// unixPath maps C:\x to the prefix's drive_c.
func (w *wine) unixPath(win string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(win, "C:"), "c:")
	return filepath.Join(w.prefix, "drive_c", filepath.FromSlash(strings.ReplaceAll(rest, `\`, "/")))
}

// startWindowsServe runs 'sealprint.exe serve ARGS' under Wine until the
// test ends, or until the function it returns stops it.
func (w *wine) startServe(exe string, env []string, listen string, args ...string) (stop func()) {
	w.t.Helper()
	cmd := w.cmd(append([]string{exe, "serve"}, args...)...)
	cmd.Env = append(cmd.Env, env...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if w.t.Failed() {
				w.t.Logf("windows serve log:\n%s", testutil.Tail(logs.String(), 60))
			}
		})
	}
	w.t.Cleanup(stop)
	if !waitListening(context.Background(), listen, 120*time.Second) {
		w.t.Fatalf("windows serve did not listen on %s:\n%s", listen, logs.String())
	}
	return stop
}

// ipptoolGetPrinterAttributes runs against uri the Get-Printer-Attributes
// tests of CUPS' ipp-1.1, ipp-2.0 and ipp-everywhere suites (each suite
// cut down to those tests, included suites too), with the IPP versions
// printer/ipptool_test.go runs the whole suites with on the Linux build,
// then get-printer-attributes-suite.test (requested-attributes groups).
// Every test must pass: ipptool stops a suite at its first failure and can
// exit 0 while a file is missing, so the passes are counted.
func ipptoolGetPrinterAttributes(t *testing.T, uri string) {
	t.Helper()
	ipptool := testutil.NeedTool(t, "ipptool")
	const suites = "/usr/share/cups/ipptool"
	dir := t.TempDir()
	counts, err := testutil.IpptoolOperationTests(suites, dir, "Get-Printer-Attributes", "ipp-everywhere.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := writeGPASuite(filepath.Join(suites, "get-printer-attributes-suite.test"), filepath.Join(dir, "gpa-suite.test")); err != nil {
		t.Fatal(err)
	}
	gpa, err := testutil.IpptoolOperationTests(dir, dir, "Get-Printer-Attributes", "gpa-suite.test")
	if err != nil {
		t.Fatal(err)
	}
	counts["gpa-suite.test"] = gpa["gpa-suite.test"]
	for _, s := range []struct{ file, version string }{
		{"ipp-1.1.test", "1.0"},
		{"ipp-1.1.test", "1.1"},
		{"ipp-2.0.test", "2.0"},
		{"ipp-everywhere.test", "2.0"},
		{"gpa-suite.test", "2.0"},
	} {
		cmd := exec.Command(ipptool, "-V", s.version, "-t", uri, s.file)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		text := string(out)
		passed := strings.Count(text, "[PASS]")
		if err != nil || strings.Contains(text, "FAIL") || strings.Contains(text, "cannot be read") || passed != counts[s.file] {
			t.Errorf("ipptool %s @%s against the Windows build: %v, %d of %d tests passed\n%s", s.file, s.version, err, passed, counts[s.file], text)
		}
	}
}

// writeGPASuite copies CUPS' get-printer-attributes-suite.test, whose
// test "(requested-attributes='media-col-database')" sends 'all' in
// CUPS 2.4.2 (fixed upstream to send 'media-col-database', which is what
// the test expects an answer to).
func writeGPASuite(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	s := string(b)
	const name = `NAME "Get-Printer-Attributes (requested-attributes='media-col-database')"`
	i := strings.Index(s, name)
	if i < 0 {
		return fmt.Errorf("%s: no test %s", src, name)
	}
	if j := strings.Index(s[i:], "}"); j > 0 {
		block := s[i : i+j]
		s = s[:i] + strings.Replace(block, "requested-attributes 'all'", "requested-attributes 'media-col-database'", 1) + s[i+j:]
	}
	return os.WriteFile(dst, []byte(s), 0o644)
}

// TestWindowsBuildUnderWine runs the Windows build of sealprint under Wine:
// keys, enrolment against a real relay, doctor, send, serve answering
// ipptool, the machine settings from the registry (the policy key
// winning), and the MSI installing and removing itself.
func TestWindowsBuildUnderWine(t *testing.T) {
	testutil.NeedIntegration(t)
	testutil.NeedTool(t, "wixl")
	testutil.NeedTool(t, "msiinfo")
	dist := buildPackages(t, "msi")
	w := newWine(t)
	exe := filepath.Join(dist, "bin", "windows-amd64", "sealprint.exe")
	relay := startRelayProc(t)

	// Commands of a user's sealprint.
	home := []string{`SEALPRINT_HOME=C:\sphome`, "SEALPRINT_KEYRING=file"}
	out := w.must(home, exe, "keys", "generate", "--name", "Dr Durand", "--email", "durand@chu.example")
	if !strings.Contains(out, "created key") {
		t.Fatalf("keys generate: %s", out)
	}
	if _, err := os.Stat(w.unixPath(`C:\sphome\keys`)); err != nil {
		t.Fatalf("no key store on the Windows side: %v", err)
	}
	// DPAPI: the secret key file is sealed with CryptProtectData.
	senderKey := w.unixPath(`C:\sphome\keys\secrets\sender-key.secret`)
	checkDPAPISealed(t, senderKey)
	w.must(home, exe, "enroll", "--relay", relay.url, "--token", relay.token(t, "Dr Durand"))
	doc, _, _ := w.run(home, exe, "doctor", "--timeout", "20s")
	for _, want := range []string{`C:\sphome\config.json`, "sender key"} {
		if !strings.Contains(doc, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, doc)
		}
	}
	if strings.Contains(doc, `C:\sphome/`) {
		t.Errorf("doctor mixes path separators:\n%s", doc)
	}
	officer := newPerson(t)
	officer.must("keys", "generate", "--name", "Cdt Martin", "--email", "martin@police.example")
	martin := filepath.Join(w.prefix, "drive_c", "martin.asc")
	os.WriteFile(martin, []byte(officer.must("keys", "export", "martin@police.example")), 0o644)
	w.must(home, exe, "keys", "import", `C:\martin.asc`)
	report := filepath.Join(w.prefix, "drive_c", "report.pdf")
	os.WriteFile(report, []byte("%PDF-1.4\nMARKER-WINE-0042\n%%EOF\n"), 0o644)
	sent := w.must(home, exe, "send", `C:\report.pdf`, "--to", "martin@police.example", "--json")
	if !strings.Contains(sent, relay.url) {
		t.Fatalf("send printed %q", sent)
	}
	// ipptool runs on the Linux side, whose processes Wine cannot name:
	// this serve does not keep its printer to its own account.
	userCfg, err := config.LoadFile(w.unixPath(`C:\sphome`))
	if err != nil {
		t.Fatal(err)
	}
	off := false
	userCfg.Printer.OwnAccountOnly = &off
	if err := config.Save(w.unixPath(`C:\sphome`), userCfg); err != nil {
		t.Fatal(err)
	}
	listen := testutil.FreeAddr(t)
	stopServe := w.startServe(exe, home, listen, "--listen", listen)
	ipptoolGetPrinterAttributes(t, "ipp://"+listen+"/ipp/print/sealed")
	// The spool key serve created is sealed too; a restarted serve (a new
	// process) unseals it and serves again.
	checkDPAPISealed(t, w.unixPath(`C:\sphome\keys\secrets\spool-key.secret`))
	stopServe()
	w.startServe(exe, home, listen, "--listen", listen)
	ipptoolGetPrinterAttributes(t, "ipp://"+listen+"/ipp/print/sealed")
	checkDPAPICopies(t, w, exe, home)
	checkPeersUnderWine(t, w)

	// The service's settings from the registry, the policy key winning.
	reg := func(args ...string) {
		t.Helper()
		w.must(nil, append([]string{"reg"}, args...)...)
	}
	svcListen := testutil.FreeAddr(t)
	reg("add", `HKLM\SOFTWARE\Sealprint`, "/v", "Home", "/d", `C:\machine`, "/f")
	reg("add", `HKLM\SOFTWARE\Sealprint`, "/v", "RelayURL", "/d", "https://overridden.example", "/f")
	reg("add", `HKLM\SOFTWARE\Sealprint`, "/v", "Token", "/d", relay.token(t, "PC-042"), "/f")
	reg("add", `HKLM\SOFTWARE\Policies\Sealprint`, "/v", "RelayURL", "/d", relay.url, "/f")
	reg("add", `HKLM\SOFTWARE\Policies\Sealprint`, "/v", "Queues", "/d", "OPJ-Lyon=martin@police.example", "/f")
	reg("add", `HKLM\SOFTWARE\Policies\Sealprint`, "/v", "Listen", "/d", svcListen, "/f")
	w.startServe(exe, []string{"SEALPRINT_KEYRING=file"}, svcListen, "--service")
	cfg, err := os.ReadFile(w.unixPath(`C:\machine\config.json`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"relay": "` + relay.url + `"`, `"name": "OPJ-Lyon"`, `"token": "`} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("service config lacks %s:\n%s", want, cfg)
		}
	}
	if q, _, _ := w.run(nil, "reg", "query", `HKLM\SOFTWARE\Sealprint`); strings.Contains(q, "Token") {
		t.Errorf("the token stayed in the registry, readable by every user:\n%s", q)
	}
	ipptoolGetPrinterAttributes(t, "ipp://"+svcListen+"/ipp/print/OPJ-Lyon")
	doc, _, _ = w.run([]string{"SEALPRINT_KEYRING=file"}, exe, "doctor", "--timeout", "20s")
	if !strings.Contains(doc, `C:\machine\config.json`) {
		t.Errorf("doctor does not use the Home from the registry:\n%s", doc)
	}
	reg("delete", `HKLM\SOFTWARE\Sealprint`, "/f")
	reg("delete", `HKLM\SOFTWARE\Policies\Sealprint`, "/v", "RelayURL", "/f")
	reg("delete", `HKLM\SOFTWARE\Policies\Sealprint`, "/v", "Queues", "/f")

	// The MSI: its tables, then install and removal under Wine.
	msi := filepath.Join(dist, "sealprint.msi")
	tables := map[string][]string{
		"File":           {"sealprint.exe"},
		"Component":      {"SealprintExe", "MachineSettings"},
		"ServiceInstall": {"sealprint", "LocalSystem", "serve --service"},
		"ServiceControl": {"sealprint"},
		"Registry":       {`SOFTWARE\Sealprint`, "RelayURL", "[RELAYURL]", "Token", "[TOKEN]", "Queues", `SOFTWARE\Microsoft\Windows\CurrentVersion\Run`, `"[INSTALLDIR]sealprint.exe" agent`},
		// On removal only, the installed binary removes the service's
		// printers: type 3154 = 18 (exe from File) + 64 (ignore its exit
		// code) + 1024 (deferred) + 2048 (not impersonated).
		"CustomAction":           {"RemoveSealprintPrinters\t3154\tsealprint.exe\tuninstall --printers-only"},
		"InstallExecuteSequence": {"RemoveSealprintPrinters\tREMOVE=\"ALL\"\t1950", "StopServices\tVersionNT\t1900", "RemoveFiles\t\t3500"},
		"Property":               {"SecureCustomProperties", "RELAYURL;TOKEN;PROXY;PAC;CA;QUEUES", "MsiHiddenProperties"},
	}
	for table, wants := range tables {
		out, err := exec.Command("msiinfo", "export", msi, table).CombinedOutput()
		if err != nil {
			t.Fatalf("msiinfo export %s: %v\n%s", table, err, out)
		}
		for _, want := range wants {
			if !strings.Contains(string(out), want) {
				t.Errorf("MSI table %s lacks %q:\n%s", table, want, out)
			}
		}
	}
	// The service the MSI starts listens where the policy says.
	reg("add", `HKLM\SOFTWARE\Policies\Sealprint`, "/v", "Listen", "/d", testutil.FreeAddr(t), "/f")
	winMSI := `Z:` + strings.ReplaceAll(msi, "/", `\`)
	if out, errs, err := w.run(nil, "msiexec", "/i", winMSI, "/qn", "/l*v", `C:\msi-install.log`, "RELAYURL="+relay.url, "QUEUES=OPJ-Lyon=martin@police.example"); err != nil {
		log, _ := os.ReadFile(w.unixPath(`C:\msi-install.log`))
		t.Fatalf("msiexec /i: %v\n%s%s\nlog:\n%s", err, out, errs, testutil.Tail(strings.ReplaceAll(string(log), "\x00", ""), 80))
	}
	installed := w.unixPath(`C:\Program Files\Sealprint\sealprint.exe`)
	if _, err := os.Stat(installed); err != nil {
		t.Errorf("MSI did not install the binary: %v", err)
	}
	q := w.must(nil, "reg", "query", `HKLM\SOFTWARE\Sealprint`)
	for _, want := range []string{"RelayURL", relay.url, "Queues", "OPJ-Lyon=martin@police.example", "Home"} {
		if !strings.Contains(q, want) {
			t.Errorf("reg query HKLM\\SOFTWARE\\Sealprint lacks %q:\n%s", want, q)
		}
	}
	if run := w.must(nil, "reg", "query", `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run`); !strings.Contains(run, "sealprint.exe") {
		t.Errorf("Run key lacks the agent:\n%s", run)
	}
	w.must(nil, "msiexec", "/x", winMSI, "/qn", "/l*v", `C:\msi-remove.log`)
	rawLog, err := os.ReadFile(w.unixPath(`C:\msi-remove.log`))
	if err != nil {
		t.Fatalf("msiexec /x wrote no log: %v", err)
	}
	removeLog := strings.ReplaceAll(string(rawLog), "\x00", "")
	// The deferred action ran during removal and succeeded; it is not run
	// on install (condition REMOVE="ALL").
	ranOK := regexp.MustCompile(`Action ended [0-9:]+: RemoveSealprintPrinters\. Return value 1\.`)
	if !ranOK.MatchString(removeLog) {
		t.Errorf("msiexec /x did not run the printer removal successfully:\n%s", testutil.Tail(removeLog, 80))
	}
	if il, err := os.ReadFile(w.unixPath(`C:\msi-install.log`)); err != nil {
		t.Errorf("install log: %v", err)
	} else if regexp.MustCompile(`Action start [0-9:]+: RemoveSealprintPrinters\.`).MatchString(strings.ReplaceAll(string(il), "\x00", "")) {
		t.Error("msiexec /i ran the printer removal")
	}
	if _, err := os.Stat(installed); err == nil {
		t.Error("the binary is still there after msiexec /x")
	}
	if q, _, _ := w.run(nil, "reg", "query", `HKLM\SOFTWARE\Sealprint`); strings.Contains(q, "RelayURL") {
		t.Errorf("settings left after msiexec /x:\n%s", q)
	}
}
