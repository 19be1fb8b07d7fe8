package recipient_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/pdfsign"
)

// pageSigReport is what static/pdfsig.js reports (window.sealprintTest.pdfsig).
type pageSigReport struct {
	Verdict    string `json:"verdict"`
	Why        string `json:"why"`
	Signatures []struct {
		Valid     bool     `json:"valid"`
		WholeFile bool     `json:"wholeFile"`
		Signer    string   `json:"signer"`
		Issuer    string   `json:"issuer"`
		Level     string   `json:"level"`
		Problems  []string `json:"problems"`
		Chain     []string `json:"chain"`
		Timestamp *struct {
			Time time.Time `json:"time"`
			TSA  string    `json:"tsa"`
		} `json:"timestamp"`
	} `json:"signatures"`
}

// pdfSigTitles are the verdict's title in each language.
var pdfSigTitles = map[string]map[string]string{
	"fr": {"valid": "Signature PDF valide", "modified": "Signature PDF : modifié après signature", "invalid": "Signature PDF invalide", "none": "Pas de signature PDF"},
	"en": {"valid": "Valid PDF signature", "modified": "PDF signature: modified after signing", "invalid": "Invalid PDF signature", "none": "No PDF signature"},
}

// TestPDFSignatureDifferential: the same PDFs (valid B-B, valid B-T with
// RSA and with ECDSA, one byte changed in the signed content, a real
// incremental update appended, a second signature, no signature, a
// garbage CMS, garbage, a changed signature value, an altered timestamp
// token, a signer name with a bidirectional override) get the same verdict from the recipient page in
// real Chromium and Firefox ESR, from pdfsign's Go verifier and from
// poppler's pdfsig (where it applies: it cannot read the garbage and does
// not check timestamps, so it finds the altered token valid: the page and
// Go do not), and the page shows the same
// signer, issuer, level, timestamp time and TSA as the Go verifier. The
// mutants subtest (pdfSigMutants) shares the browsers.
func TestPDFSignatureDifferential(t *testing.T) {
	e := newBrowserEnv(t)
	ff := startFirefox(t)
	cases, ca := pdfSigSet(t)
	browsers := []struct {
		name, lang string
		open       func(t *testing.T, url string) browserPage
	}{
		{"chromium", "fr", func(t *testing.T, url string) browserPage {
			ctx := e.tab(t)
			if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
				t.Fatal(err)
			}
			return &cdpPage{t: t, ctx: ctx}
		}},
		{"firefox", "en", func(t *testing.T, url string) browserPage {
			p := ff.page(t)
			p.goto_(url)
			return p
		}},
	}
	t.Run("mutants", func(t *testing.T) { pdfSigMutants(t, e, ff, cases) })
	for _, c := range cases {
		rep, err := pdfsign.Verify(bytes.NewReader(c.pdf), int64(len(c.pdf)), pdfsign.VerifyOptions{Roots: ca.Pool()})
		if err != nil {
			t.Fatalf("%s: Verify: %v", c.name, err)
		}
		if v := goVerdict(rep); v != c.want {
			t.Errorf("%s: Go verifier says %s, want %s", c.name, v, c.want)
		}
		want := c.poppler
		if want == "" {
			want = c.want
		}
		if pv, out := popplerVerdict(t, c.pdf, ca); pv != want {
			t.Errorf("%s: pdfsig says %s, want %s:\n%s", c.name, pv, want, out)
		}
		secret, err := envelope.NewLinkSecret()
		if err != nil {
			t.Fatal(err)
		}
		d := e.addDrop(t, e.seal(t, c.pdf, nil, secret), "link", "")
		url := e.srv.URL + "/d/" + d.id + "#" + secret
		for _, b := range browsers {
			t.Run(b.name+"/"+c.name, func(t *testing.T) {
				p := b.open(t, url)
				p.waitState("decrypted")
				verdict := p.poll(`["none", "valid", "modified", "invalid", "error"].includes(document.documentElement.dataset.pdfsig) && document.documentElement.dataset.pdfsig`)
				if verdict != c.want {
					t.Errorf("page says %s, want %s (report %s)", verdict, c.want, p.str(`JSON.stringify(window.sealprintTest.pdfsig)`))
				}
				p.click(`button[data-lang="` + b.lang + `"]`)
				if title := p.str(`document.getElementById("pdfsig-title").textContent`); title != pdfSigTitles[b.lang][c.want] {
					t.Errorf("title %q, want %q", title, pdfSigTitles[b.lang][c.want])
				}
				// A signature rewrites the page it adds its field to: still 3 pages.
				if pages := p.str(`document.getElementById("f-pages").hidden ? "" : document.querySelector("#f-pages dd").textContent`); c.name != "garbage" && pages != "3" {
					t.Errorf("pages shown %q, want 3", pages)
				}
				var got pageSigReport
				if err := json.Unmarshal([]byte(p.str(`JSON.stringify(window.sealprintTest.pdfsig)`)), &got); err != nil {
					t.Fatal(err)
				}
				compareWithGo(t, &got, rep)
				if len(rep.Signatures) > 0 {
					text := p.str(`document.getElementById("pdfsig").textContent`)
					for _, want := range []string{rep.Signatures[len(rep.Signatures)-1].Issuer, map[string]string{"fr": "non vérifié par rapport à une autorité", "en": "not verified against an authority"}[b.lang]} {
						if !strings.Contains(text, want) {
							t.Errorf("the page does not show %q:\n%s", want, text)
						}
					}
				}
			})
		}
	}
}

// shownName is a certificate name as the page shows it: control and
// bidirectional-override characters replaced by U+FFFD.
func shownName(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f && r <= 0x9f || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			return '\ufffd'
		}
		return r
	}, s)
}

// compareWithGo checks the page's details against pdfsign.Verify's.
func compareWithGo(t *testing.T, got *pageSigReport, rep *pdfsign.Report) {
	t.Helper()
	if len(got.Signatures) != len(rep.Signatures) {
		t.Fatalf("page finds %d signatures, Go %d", len(got.Signatures), len(rep.Signatures))
	}
	for i, s := range rep.Signatures {
		g := got.Signatures[i]
		if g.Valid != s.Valid || g.WholeFile != s.WholeFile || g.Signer != shownName(s.Signer) || g.Issuer != shownName(s.Issuer) || g.Level != s.Level {
			t.Errorf("signature %d: page valid=%v whole=%v signer=%q issuer=%q level=%q problems=%v; Go valid=%v whole=%v signer=%q issuer=%q level=%q problems=%v",
				i, g.Valid, g.WholeFile, g.Signer, g.Issuer, g.Level, g.Problems, s.Valid, s.WholeFile, s.Signer, s.Issuer, s.Level, s.Problems)
		}
		if (g.Timestamp == nil) != (s.Timestamp == nil || !s.Timestamp.Valid) {
			t.Errorf("signature %d: page timestamp %+v, Go %+v", i, g.Timestamp, s.Timestamp)
			continue
		}
		if g.Timestamp != nil && (g.Timestamp.TSA != s.Timestamp.TSA || !g.Timestamp.Time.Equal(s.Timestamp.Time.Truncate(time.Millisecond))) {
			t.Errorf("signature %d: page timestamp %v by %q, Go %v by %q", i, g.Timestamp.Time, g.Timestamp.TSA, s.Timestamp.Time, s.Timestamp.TSA)
		}
		if s.Valid && len(g.Chain) < 2 {
			t.Errorf("signature %d: chain %v", i, g.Chain)
		}
	}
}

// pdfSigMutants (TestPDFSignatureDifferential/mutants) changes one to three hex digits of the
// /Contents of signed PDFs (B-T with RSA and with ECDSA, two signatures),
// 150 times each, and checks each mutant with the page's module in real
// Chromium and Firefox ESR and with pdfsign.Verify: the page never calls
// valid what Go refuses, and never fails with an exception. The page may
// refuse more (it also requires the timestamp authority's certificate to
// be bound by the token's ESS attribute, and the token's content type).
func pdfSigMutants(t *testing.T, e *browserEnv, ff *firefox, cases []pdfSigCase) {
	rng := mathrand.New(mathrand.NewPCG(20, 1))
	type mutant struct {
		edits    [][2]int // offset, new byte
		goV      string
		pdf      []byte // the mutant, kept to be written out when the page disagrees
		problems string // what Go found wrong
	}
	for _, c := range cases {
		if c.name != "valid-bt" && c.name != "valid-ecdsa-bt" && c.name != "two-signatures" {
			continue
		}
		var holes []int
		for i := 0; ; {
			j := bytes.Index(c.pdf[i:], []byte("/Contents<"))
			if j < 0 {
				break
			}
			holes = append(holes, i+j+len("/Contents<"))
			i += j + 1
		}
		var muts []mutant
		for range 150 {
			b := bytes.Clone(c.pdf)
			var m mutant
			for range 1 + rng.IntN(3) {
				i := holes[rng.IntN(len(holes))] + rng.IntN(5000)
				b[i] = "0123456789abcdef"[rng.IntN(16)]
				m.edits = append(m.edits, [2]int{i, int(b[i])})
			}
			rep, err := pdfsign.Verify(bytes.NewReader(b), int64(len(b)), pdfsign.VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			m.goV = goVerdict(rep)
			m.pdf = b
			m.problems = fmt.Sprint(goProblems(rep))
			muts = append(muts, m)
		}
		edits := make([][][2]int, len(muts))
		for i, m := range muts {
			edits[i] = m.edits
		}
		ej, _ := json.Marshal(edits)
		script := `(async () => {
			const m = await import("/d/static/pdfsig.js");
			const orig = Uint8Array.from(atob("` + base64.StdEncoding.EncodeToString(c.pdf) + `"), (ch) => ch.charCodeAt(0));
			const out = [];
			for (const edits of ` + string(ej) + `) {
				const b = orig.slice();
				for (const [i, v] of edits) b[i] = v;
				try { out.push((await m.check(b)).verdict); } catch (err) { out.push("exception: " + err.message); }
			}
			return JSON.stringify(out);
		})()`
		for _, br := range []struct {
			name string
			run  func(t *testing.T) string
		}{
			{"chromium", func(t *testing.T) string {
				ctx := e.tab(t)
				if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/d/AAAAAAAAAAAAAAAAAAAAAA")); err != nil {
					t.Fatal(err)
				}
				out, err := chromedp.Run(ctx, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
				if err != nil {
					t.Fatal(err)
				}
				return out
			}},
			{"firefox", func(t *testing.T) string {
				p := ff.page(t)
				p.goto_(e.srv.URL + "/d/AAAAAAAAAAAAAAAAAAAAAA")
				return p.str(script)
			}},
		} {
			t.Run(br.name+"/"+c.name, func(t *testing.T) {
				var got []string
				if err := json.Unmarshal([]byte(br.run(t)), &got); err != nil || len(got) != len(muts) {
					t.Fatalf("%d verdicts for %d mutants (%v)", len(got), len(muts), err)
				}
				agree := map[string]int{}
				for i, v := range got {
					m := muts[i]
					switch {
					case strings.HasPrefix(v, "exception"):
						t.Errorf("mutant %v: %s", m.edits, v)
					case v == "valid" && m.goV != "valid":
						f := filepath.Join(os.TempDir(), fmt.Sprintf("sealprint-pdfsig-mutant-%s-%d.pdf", c.name, i))
						os.WriteFile(f, m.pdf, 0o600)
						t.Errorf("mutant %v: the page says valid, Go %s (%s); context %q; written to %s", m.edits, m.goV, m.problems, mutantContext(c.pdf, m.edits), f)
					case v != "valid" && m.goV == "valid":
						agree["page refuses, Go accepts"]++
					case v == m.goV:
						agree["same"]++
					default:
						agree["both refuse, other words"]++
					}
				}
				t.Logf("%d mutants: %v", len(muts), agree)
			})
		}
	}
}

// goProblems lists what pdfsign.Verify found wrong with each signature.
func goProblems(rep *pdfsign.Report) [][]string {
	var out [][]string
	for _, s := range rep.Signatures {
		out = append(out, s.Problems)
	}
	return out
}

// mutantContext shows the hex digits around each edit of a mutant, before
// the edit, to tell which DER element it hit.
func mutantContext(pdf []byte, edits [][2]int) []string {
	var out []string
	for _, e := range edits {
		lo, hi := max(e[0]-24, 0), min(e[0]+24, len(pdf))
		out = append(out, string(pdf[lo:e[0]])+"["+string(pdf[e[0]])+"→"+string(rune(e[1]))+"]"+string(pdf[e[0]+1:hi]))
	}
	return out
}
