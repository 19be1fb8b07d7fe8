package printer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

const ipptoolSuites = "/usr/share/cups/ipptool"

// testPagePS is a small multi-page colour document in PostScript; pages
// are drawn by the procedure "page" (page number on the stack).
const testPagePS = `%!PS-Adobe-3.0
/page { /n exch def
  /Helvetica findfont 28 scalefont setfont
  0 0 0 setrgbcolor 60 700 moveto (sealprint test page ) show n 3 string cvs show
  /Helvetica findfont 12 scalefont setfont
  60 660 moveto (The quick brown fox jumps over the lazy dog.) show
  0.8 0.1 0.1 setrgbcolor 60 420 180 180 rectfill
  0.1 0.6 0.2 setrgbcolor 260 420 180 180 rectfill
  0.1 0.2 0.8 setrgbcolor 160 260 180 180 rectfill
  showpage } def
`

// writePS writes a PostScript file with pages pages.
func writePS(t *testing.T, path string, pages int) {
	t.Helper()
	var b strings.Builder
	b.WriteString(testPagePS)
	for i := 1; i <= pages; i++ {
		fmt.Fprintf(&b, "%d page\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// gs runs ghostscript with args.
func gs(t *testing.T, gsPath string, args ...string) {
	t.Helper()
	cmd := exec.Command(gsPath, append([]string{"-q", "-dSAFER", "-dBATCH", "-dNOPAUSE"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gs %v: %v\n%s", args, err, out)
	}
}

// makeSuiteDocuments generates in dir every document the ipptool suites
// reference for the capabilities this printer advertises.
func makeSuiteDocuments(t *testing.T, dir string) {
	t.Helper()
	gsPath := testutil.NeedTool(t, "gs")
	src2 := filepath.Join(dir, "src-2.ps")
	src1 := filepath.Join(dir, "src-1.ps")
	writePS(t, src2, 2)
	writePS(t, src1, 1)
	paper := map[string]string{"a4": "a4", "letter": "letter"}
	var jobs [][]string
	for name, p := range paper {
		jobs = append(jobs,
			[]string{"-sDEVICE=pdfwrite", "-sPAPERSIZE=" + p, "-dFIXEDMEDIA", "-o", filepath.Join(dir, "document-"+name+".pdf"), src2},
			[]string{"-sDEVICE=ps2write", "-sPAPERSIZE=" + p, "-dFIXEDMEDIA", "-o", filepath.Join(dir, "document-"+name+".ps"), src2})
	}
	photo := []string{"-dDEVICEWIDTHPOINTS=288", "-dDEVICEHEIGHTPOINTS=432", "-dFIXEDMEDIA"}
	jobs = append(jobs,
		append([]string{"-sDEVICE=jpeg", "-r100", "-o", filepath.Join(dir, "color.jpg")}, append(photo, src1)...),
		append([]string{"-sDEVICE=jpeggray", "-r100", "-o", filepath.Join(dir, "gray.jpg")}, append(photo, src1)...))
	// Raster samples: every FILE of ipp-everywhere.test. Those for a
	// resolution and raster type the printer advertises are rendered for
	// real. ipptool opens every FILE when it parses a suite, including the
	// samples of tests it will skip because the printer does not advertise
	// that resolution or type (SKIP-IF-NOT-DEFINED HAVE_600DPI…); those are
	// never sent, and a placeholder lets the suite load.
	types := map[string][]string{
		"sgray-8": {"-dcupsColorSpace=18", "-dcupsBitsPerColor=8"},
		"srgb-8":  {"-dcupsColorSpace=19", "-dcupsBitsPerColor=8"},
	}
	suite, err := os.ReadFile(filepath.Join(ipptoolSuites, "ipp-everywhere.test"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^\s*FILE (pwg-raster-samples-(\d+)dpi/([a-z0-9-]+)/(\S+\.pwg))\s*$`)
	seen := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(string(suite), -1) {
		rel, dpiText, typ, doc := m[1], m[2], m[3], m[4]
		doc = strings.TrimSuffix(doc, "-"+typ+"-"+dpiText+"dpi.pwg")
		if seen[rel] {
			continue
		}
		seen[rel] = true
		path := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		dpi, _ := strconv.Atoi(dpiText)
		targs, ok := types[typ]
		if !ok || !slices.Contains(resolutions, dpi) {
			if err := os.WriteFile(path, []byte("not advertised: never sent\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		args := append([]string{"-sDEVICE=pwgraster", fmt.Sprintf("-r%d", dpi)}, targs...)
		switch doc {
		case "color.jpg-4x6", "gray.jpg-4x6":
			args = append(append(args, photo...), "-o", path, src1)
		case "document-a4", "document-letter":
			args = append(args, "-sPAPERSIZE="+strings.TrimPrefix(doc, "document-"), "-dFIXEDMEDIA", "-o", path, src2)
		case "onepage-a4", "onepage-letter":
			args = append(args, "-sPAPERSIZE="+strings.TrimPrefix(doc, "onepage-"), "-dFIXEDMEDIA", "-o", path, src1)
		default:
			t.Fatalf("unknown sample document %q in %s", doc, rel)
		}
		jobs = append(jobs, args)
	}
	if len(seen) == 0 {
		t.Fatal("no raster sample found in ipp-everywhere.test")
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for _, args := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func(args []string) {
			defer wg.Done()
			defer func() { <-sem }()
			gs(t, gsPath, args...)
		}(args)
	}
	wg.Wait()
}

// TestIpptoolSuites runs CUPS' conformance suites against the printer,
// which identifies the client's local account and prints only for its own.
func TestIpptoolSuites(t *testing.T) {
	testutil.NeedIntegration(t)
	ipptool := testutil.NeedTool(t, "ipptool")
	for _, f := range []string{"ipp-1.1.test", "ipp-2.0.test", "ipp-everywhere.test"} {
		if _, err := os.Stat(filepath.Join(ipptoolSuites, f)); err != nil {
			if testutil.Integration() {
				t.Fatalf("suite %s missing: %v", f, err)
			}
			t.Skipf("suite %s missing", f)
		}
	}
	dir := t.TempDir()
	makeSuiteDocuments(t, dir)
	for _, f := range []string{"ipp-1.1.test", "ipp-2.0.test", "ipp-everywhere.test"} {
		b, err := os.ReadFile(filepath.Join(ipptoolSuites, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sp := &memSpooler{}
	// As the per-user service runs: the client's account is identified
	// and only the service's own account may print.
	_, addr := startServer(t, sp, Config{Peers: OSPeers(), OwnAccountOnly: true})
	uri := QueueURI(addr, DefaultQueue)
	for _, suite := range []struct{ file, version string }{
		{"ipp-1.1.test", "1.0"},
		{"ipp-1.1.test", "1.1"},
		{"ipp-2.0.test", "2.0"},
		{"ipp-everywhere.test", "2.0"},
	} {
		t.Run(suite.file+"@"+suite.version, func(t *testing.T) {
			cmd := exec.Command(ipptool, "-V", suite.version, "-I", "-t", "-f", "document-a4.pdf", uri, suite.file)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			text := string(out)
			t.Logf("%s", text)
			if err != nil || strings.Contains(text, "FAIL") || strings.Contains(text, "cannot be read") {
				t.Errorf("ipptool %s: %v\n%s", suite.file, err, text)
			}
			if !strings.Contains(text, "PASS") {
				t.Errorf("ipptool %s ran no test:\n%s", suite.file, text)
			}
		})
	}
	jobs, docs := sp.accepted()
	if len(jobs) == 0 {
		t.Fatal("spooler received no job")
	}
	for _, j := range jobs {
		if len(docs[j.ID]) == 0 {
			t.Errorf("job %s (%s) has no bytes", j.ID, j.Name)
		}
	}
}
