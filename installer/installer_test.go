package installer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
)

// fakeRunner records commands and answers from a table.
type fakeRunner struct {
	ran     []string
	answers map[string]string // command prefix → output
	fail    map[string]bool
}

func (f *fakeRunner) Run(_ context.Context, name string, args ...string) (string, error) {
	line := name + " " + strings.Join(args, " ")
	f.ran = append(f.ran, line)
	for prefix, out := range f.answers {
		if strings.HasPrefix(line, prefix) {
			if f.fail[prefix] {
				return out, errors.New("exit status 1")
			}
			return out, nil
		}
	}
	return "", nil
}

func TestCUPSAddRunsLpadminAsDocumented(t *testing.T) {
	r := &fakeRunner{}
	if err := (CUPS{Run: r}).Add(context.Background(), Queue{Name: "OPJ-Lyon", URI: "ipp://127.0.0.1:8632/ipp/print/OPJ-Lyon", Info: "Sealed → OPJ Lyon"}); err != nil {
		t.Fatal(err)
	}
	want := "lpadmin -p OPJ-Lyon -E -v ipp://127.0.0.1:8632/ipp/print/OPJ-Lyon -m everywhere -o printer-is-shared=false -o printer-error-policy=retry-job -D Sealed → OPJ Lyon"
	if len(r.ran) != 1 || r.ran[0] != want {
		t.Fatalf("ran %q\nwant %q", r.ran, want)
	}
	for _, bad := range []string{"", "with space", "a/b", "quote'", strings.Repeat("x", 128), "nl\n"} {
		if err := (CUPS{Run: r}).Add(context.Background(), Queue{Name: bad, URI: "ipp://x"}); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
}

func TestParseLpstatV(t *testing.T) {
	out := "device for OPJ-Lyon: ipp://127.0.0.1:8632/ipp/print/OPJ-Lyon\ndevice for sealed: ipp://127.0.0.1:8632/ipp/print/sealed\nnoise\n"
	got := parseLpstatV(out)
	want := map[string]string{"OPJ-Lyon": "ipp://127.0.0.1:8632/ipp/print/OPJ-Lyon", "sealed": "ipp://127.0.0.1:8632/ipp/print/sealed"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
	// CUPS with no printer exits 1 with this message: an empty list.
	r := &fakeRunner{answers: map[string]string{"lpstat": "lpstat: No destinations added.\n"}, fail: map[string]bool{"lpstat": true}}
	m, err := (CUPS{Run: r}).List(context.Background())
	if err != nil || len(m) != 0 {
		t.Fatalf("empty CUPS: %v %v", m, err)
	}
}

func TestEnsureAddsMissingAndRepairsMoved(t *testing.T) {
	r := &fakeRunner{answers: map[string]string{"lpstat -v": "device for sealed: ipp://127.0.0.1:8632/ipp/print/sealed\ndevice for A: ipp://127.0.0.1:9999/ipp/print/A\n"}}
	qs := []Queue{
		{Name: "sealed", URI: "ipp://127.0.0.1:8632/ipp/print/sealed"},
		{Name: "A", URI: "ipp://127.0.0.1:8632/ipp/print/A"},
		{Name: "B", URI: "ipp://127.0.0.1:8632/ipp/print/B"},
	}
	added, err := Ensure(context.Background(), CUPS{Run: r}, qs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(added, []string{"A", "B"}) {
		t.Fatalf("added %v (ran %q)", added, r.ran)
	}
}

func TestWindowsPrintersQuoteForPowerShell(t *testing.T) {
	r := &fakeRunner{}
	w := WindowsPrinters{Run: r}
	if err := w.Add(context.Background(), Queue{Name: "Sealed print", URI: "http://127.0.0.1:8632/ipp/print/sealed", Info: "l'OPJ"}); err != nil {
		t.Fatal(err)
	}
	got := r.ran[0]
	for _, want := range []string{"powershell.exe -NoProfile -NonInteractive", "Add-Printer -Name 'Sealed print' -IppURL 'http://127.0.0.1:8632/ipp/print/sealed'", "-Comment 'l''OPJ'"} {
		if !strings.Contains(got, want) {
			t.Errorf("command %q lacks %q", got, want)
		}
	}
	if err := w.Add(context.Background(), Queue{Name: "x", URI: "ipp://127.0.0.1/ipp/print/x"}); err == nil {
		t.Error("ipp:// URL given to Add-Printer -IppURL")
	}
	if err := w.Add(context.Background(), Queue{Name: "a'; Remove-Item C:\\ -Recurse; '", URI: "http://x"}); err == nil {
		t.Error("name with quote and backslash accepted")
	}
	r.answers = map[string]string{"powershell.exe": "Sealed print\thttp://127.0.0.1:8632/ipp/print/sealed\r\nMicrosoft Print to PDF\tPORTPROMPT:\r\n"}
	m, err := w.List(context.Background())
	if err != nil || m["Sealed print"] != "http://127.0.0.1:8632/ipp/print/sealed" || len(m) != 2 {
		t.Fatalf("list %v %v", m, err)
	}
}

func TestManifestRemovesOnlyWhatItCreated(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "theirs"), []byte("x"), 0o600)
	var m Manifest
	home := filepath.Join(root, "a", "b")
	if err := m.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := m.MkdirAll(root, 0o700); err != nil { // exists: not recorded
		t.Fatal(err)
	}
	f := filepath.Join(home, "config.json")
	os.WriteFile(f, []byte("{}"), 0o600)
	m.AddFile(f)
	m.AddPrinter("B")
	m.AddPrinter("A")
	m.AddPrinter("A")
	path := filepath.Join(root, ManifestName)
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadManifest(path)
	if err != nil || !reflect.DeepEqual(back.Printers, []string{"A", "B"}) || len(back.Dirs) != 2 {
		t.Fatalf("manifest %+v %v", back, err)
	}
	kept, err := back.RemoveFiles()
	if err != nil || len(kept) != 0 {
		t.Fatalf("kept %v err %v", kept, err)
	}
	os.Remove(path)
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 || entries[0].Name() != "theirs" {
		t.Fatalf("left %v", entries)
	}
}

func TestManifestKeepsDirectoryWithForeignFiles(t *testing.T) {
	root := t.TempDir()
	var m Manifest
	home := filepath.Join(root, "home")
	m.MkdirAll(home, 0o700)
	os.WriteFile(filepath.Join(home, "spool-data"), []byte("x"), 0o600)
	kept, err := m.RemoveFiles()
	if err != nil || len(kept) != 1 || kept[0] != home {
		t.Fatalf("kept %v err %v", kept, err)
	}
}

func TestLoadManifestBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), ManifestName)
	os.WriteFile(path, []byte(`{"files":["`+strings.Repeat("a", maxManifest)+`"]}`), 0o600)
	if _, err := LoadManifest(path); err == nil {
		t.Fatal("oversized manifest accepted")
	}
}

func FuzzParseLpstatV(f *testing.F) {
	f.Add("device for a: ipp://x/ipp/print/a\n")
	f.Fuzz(func(t *testing.T, s string) {
		for name := range parseLpstatV(s) {
			if name == "" || strings.Contains(name, "\n") {
				t.Fatalf("bad name %q", name)
			}
		}
	})
}

func FuzzLoadManifest(f *testing.F) {
	f.Add([]byte(`{"service":true,"printers":["a"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), ManifestName)
		os.WriteFile(path, b, 0o600)
		LoadManifest(path)
	})
}

func TestRemoveOwnRemovesOnlyTheServicePrinters(t *testing.T) {
	r := &fakeRunner{answers: map[string]string{"powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command $ErrorActionPreference='Stop'; Get-Printer |": "Sealed print\thttp://127.0.0.1:8632/ipp/print/sealed\r\n" +
		"OPJ-Lyon\thttp://127.0.0.1:8632/ipp/print/OPJ-Lyon\r\n" +
		"OPJ-Paris\thttp://192.0.2.7/ipp/print/OPJ-Paris\r\n" +
		"Microsoft Print to PDF\tPORTPROMPT:\r\n"}}
	qs := []Queue{
		{Name: "Sealed print", URI: "http://127.0.0.1:8632/ipp/print/sealed"},
		{Name: "OPJ-Lyon", URI: "http://127.0.0.1:8632/ipp/print/OPJ-Lyon"},
		{Name: "OPJ-Paris", URI: "http://127.0.0.1:8632/ipp/print/OPJ-Paris"}, // same name, someone else's printer
		{Name: "OPJ-Nice", URI: "http://127.0.0.1:8632/ipp/print/OPJ-Nice"},   // not registered
	}
	removed, err := RemoveOwn(context.Background(), WindowsPrinters{Run: r}, qs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(removed, []string{"Sealed print", "OPJ-Lyon"}) {
		t.Fatalf("removed %v (ran %q)", removed, r.ran)
	}
	var removes []string
	for _, line := range r.ran {
		if strings.Contains(line, "Remove-Printer") {
			removes = append(removes, line[strings.Index(line, "Remove-Printer"):])
		}
	}
	want := []string{"Remove-Printer -Name 'Sealed print'", "Remove-Printer -Name 'OPJ-Lyon'"}
	if !reflect.DeepEqual(removes, want) {
		t.Fatalf("ran %q\nwant %q", removes, want)
	}
}

// TestExecRunnerBounded: a command that hangs is stopped after the
// runner's timeout, and a process left behind holding the output does not
// keep Run waiting (a hung PowerShell once held the service).
func TestExecRunnerBounded(t *testing.T) {
	sleep := testutil.NeedTool(t, "sleep")
	_, err := ExecRunner{Timeout: 300 * time.Millisecond}.Run(context.Background(), sleep, "30")
	if err == nil || !strings.Contains(err.Error(), "no answer after") {
		t.Fatalf("hung command: err %v", err)
	}
	sh := testutil.NeedTool(t, "sh")
	out, err := ExecRunner{}.Run(context.Background(), sh, "-c", "echo started; sleep 60 &")
	if err != nil || !strings.Contains(out, "started") {
		t.Fatalf("command leaving a child behind: %q, %v", out, err)
	}
}
