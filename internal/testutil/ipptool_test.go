package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIpptoolOperationTests(t *testing.T) {
	src, dir := t.TempDir(), t.TempDir()
	inner := `DEFINE X "/^{a}$$/" # a { in a comment
{
	NAME "inner get {"
	OPERATION Get-Printer-Attributes
	EXPECT printer-uuid WITH-VALUE "/^urn:uuid:[0-9a-f]{8,8}-/"
}
{
	NAME "inner print"
	OPERATION Print-Job
	ATTR collection media-col {
		MEMBER collection media-size {
			MEMBER integer x-dimension 21000
		}
	}
	FILE missing.pdf
}
`
	outer := `INCLUDE "inner.test"
{
	NAME "outer get"
	OPERATION Get-Printer-Attributes
}
{
	NAME "outer jobs"
	OPERATION Get-Jobs
}
`
	os.WriteFile(filepath.Join(src, "inner.test"), []byte(inner), 0o644)
	os.WriteFile(filepath.Join(src, "outer.test"), []byte(outer), 0o644)
	counts, err := IpptoolOperationTests(src, dir, "Get-Printer-Attributes", "outer.test")
	if err != nil {
		t.Fatal(err)
	}
	if counts["outer.test"] != 2 || counts["inner.test"] != 1 {
		t.Errorf("counts %v, want outer 2 (one included), inner 1", counts)
	}
	in, _ := os.ReadFile(filepath.Join(dir, "inner.test"))
	out, _ := os.ReadFile(filepath.Join(dir, "outer.test"))
	for _, want := range []string{`DEFINE X "/^{a}$$/"`, `NAME "inner get {"`, "{8,8}-/\"\n}"} {
		if !strings.Contains(string(in), want) {
			t.Errorf("inner copy lacks %q:\n%s", want, in)
		}
	}
	if strings.Contains(string(in), "Print-Job") || strings.Contains(string(in), "FILE") {
		t.Errorf("inner copy kept the Print-Job test:\n%s", in)
	}
	if !strings.Contains(string(out), `INCLUDE "inner.test"`) || strings.Contains(string(out), "Get-Jobs") {
		t.Errorf("outer copy wrong:\n%s", out)
	}
	os.WriteFile(filepath.Join(src, "bad.test"), []byte("{\n NAME \"x\"\n"), 0o644)
	if _, err := IpptoolOperationTests(src, dir, "Get-Printer-Attributes", "bad.test"); err == nil {
		t.Error("an unterminated test block was accepted")
	}
}

// The CUPS suites themselves split into as many tests as they have
// OPERATION lines.
func TestIpptoolOperationTestsCUPS(t *testing.T) {
	const suites = "/usr/share/cups/ipptool"
	if _, err := os.Stat(filepath.Join(suites, "ipp-everywhere.test")); err != nil {
		t.Skip("CUPS ipptool suites not installed")
	}
	for _, f := range []string{"ipp-1.1.test", "ipp-2.0.test", "ipp-everywhere.test"} {
		b, _ := os.ReadFile(filepath.Join(suites, f))
		top, tests, err := splitIppTests(string(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if ops := len(ippOperationRe.FindAllString(string(b), -1)); ops != len(tests) || len(top) != len(tests)+1 {
			t.Errorf("%s: %d tests split, %d OPERATION lines", f, len(tests), ops)
		}
	}
	counts, err := IpptoolOperationTests(suites, t.TempDir(), "Get-Printer-Attributes", "ipp-everywhere.test")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Get-Printer-Attributes tests: %v", counts)
	if counts["ipp-1.1.test"] < 5 || counts["ipp-2.0.test"] <= counts["ipp-1.1.test"] || counts["ipp-everywhere.test"] <= counts["ipp-2.0.test"] {
		t.Errorf("counts %v", counts)
	}
}
