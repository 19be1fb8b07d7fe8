package render

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/internal/testutil"
)

func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	tool := testutil.NeedTool(t, "pdftotext")
	path := filepath.Join(t.TempDir(), "t.pdf")
	os.WriteFile(path, pdf, 0o600)
	return string(run(t, tool, "-layout", "-enc", "UTF-8", path, "-"))
}

func TestText(t *testing.T) {
	long := strings.Repeat("0123456789", 17) // 170 columns: wraps onto 3 lines
	cases := []struct {
		name  string
		in    string
		pages int
		want  []string
	}{
		{"utf8", "\ufeffÉtat de santé : compatible avec la garde à vue.\nœuvre – “citation” €\n", 1,
			[]string{"État de santé : compatible avec la garde à vue.", "œuvre – “citation” €"}},
		{"latin1", "Cr\xe9teil, le m\xe9decin l\xe9giste\r\nfin\n", 1, []string{"Créteil, le médecin légiste", "fin"}},
		{"wrap", long + "\n", 1, []string{strings.Repeat("0123456789", 8), "0123456789"}},
		{"formfeed", "one\fthree\n", 2, []string{"one", "three"}},
		{"tabs", "abcdefg\tX\n", 1, []string{"abcdefg X"}},
		{"many-lines", strings.Repeat("line\n", 150), 3, []string{"line"}},
		{"empty", "", 1, nil},
		{"unmappable", "日本 ok\n", 1, []string{"?? ok"}},
	}
	cases = append(cases, struct {
		name  string
		in    string
		pages int
		want  []string
	}{"declared-latin1", "\xc3\xa9t\xe9\n", 1, []string{"Ã©té"}})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			format := "text/plain; charset=utf-8"
			if c.name == "declared-latin1" {
				format = "text/plain; charset=ISO-8859-1"
			}
			var out bytes.Buffer
			info, err := ToPDF(context.Background(), format, strings.NewReader(c.in), &out, testMeta)
			if err != nil {
				t.Fatal(err)
			}
			if info.Pages != c.pages {
				t.Fatalf("%d pages, want %d", info.Pages, c.pages)
			}
			path := filepath.Join(t.TempDir(), "t.pdf")
			os.WriteFile(path, out.Bytes(), 0o600)
			if pages, _, _ := pdfinfo(t, path); pages != c.pages {
				t.Fatalf("pdfinfo: %d pages", pages)
			}
			text := pdftotext(t, out.Bytes())
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("text lacks %q:\n%s", w, text)
				}
			}
		})
	}
}
