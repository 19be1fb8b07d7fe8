package cli

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sealprint/sealprint/pdfsign"
)

// errNotValidlySigned makes pdfverify exit 1 after printing its report.
var errNotValidlySigned = errors.New("the PDF is not validly signed")

func runPDFVerify(ctx context.Context, e *env, args []string) error {
	const usage = "sealprint pdfverify FILE.pdf [--ca ROOTS.pem] [--json]"
	fs := newFlags("pdfverify", usage+`

Checks every signature of FILE.pdf: that it covers the whole file but the
signature itself, the message digest and signature value, the signer's
certificate (against the system's roots and --ca), and the timestamp
token's binding to the signature. Exits 1 unless the file is validly signed
and unchanged since its last signature.`, e.stderr)
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	caFile := fs.String("ca", "", "PEM file of extra trusted roots (e.g. IGC-Santé, your TSA's CA)")
	pos, err := parsePositional(fs, args, 1, 1, usage)
	if err != nil {
		return err
	}
	opts, err := verifyOptions(*caFile)
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	rep, err := pdfsign.Verify(f, st.Size(), opts)
	if err != nil {
		return fmt.Errorf("verify %s: %w", pos[0], err)
	}
	if *jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			File  string `json:"file"`
			Valid bool   `json:"valid"`
			*pdfsign.Report
		}{pos[0], rep.Valid(), rep}); err != nil {
			return err
		}
	} else {
		printPDFReport(e.stdout, pos[0], rep)
	}
	if !rep.Valid() {
		return errNotValidlySigned
	}
	return nil
}

// verifyOptions trusts the system's roots plus those in caFile.
func verifyOptions(caFile string) (pdfsign.VerifyOptions, error) {
	var opts pdfsign.VerifyOptions
	if caFile == "" {
		return opts, nil
	}
	pem, err := readBounded(caFile, 4<<20)
	if err != nil {
		return opts, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return opts, fmt.Errorf("%s: no PEM certificate", caFile)
	}
	opts.Roots = pool
	return opts, nil
}

// printPDFReport writes a report for people.
func printPDFReport(w io.Writer, name string, rep *pdfsign.Report) {
	switch n := len(rep.Signatures); n {
	case 0:
		fmt.Fprintf(w, "%s: not signed\n", name)
		return
	case 1:
		fmt.Fprintf(w, "%s: 1 signature\n", name)
	default:
		fmt.Fprintf(w, "%s: %d signatures\n", name, n)
	}
	for i, s := range rep.Signatures {
		verdict := "INVALID"
		if s.Valid {
			verdict = "valid"
		}
		level := "not PAdES"
		if s.Level != "" {
			level = "PAdES " + s.Level
		}
		cover := "whole file"
		if !s.WholeFile {
			cover = "an earlier version of the file"
		}
		fmt.Fprintf(w, "Signature %d: %s, %s (%s), covers %s\n", i+1, verdict, level, s.SubFilter, cover)
		if s.Signer != "" {
			fmt.Fprintf(w, "  signer:   %s\n  issuer:   %s\n  trusted:  %s\n", s.Signer, s.Issuer, yesNo(s.Trusted))
		}
		if s.ClaimedTime != nil {
			fmt.Fprintf(w, "  claimed:  %s (signer's clock)\n", s.ClaimedTime.UTC().Format(time.RFC3339))
		}
		if t := s.Timestamp; t != nil {
			fmt.Fprintf(w, "  timestamp: %s by %s (valid: %s, trusted: %s)\n", t.Time.UTC().Format(time.RFC3339), t.TSA, yesNo(t.Valid), yesNo(t.Trusted))
		} else {
			fmt.Fprintln(w, "  timestamp: none")
		}
		if s.Reason != "" {
			fmt.Fprintf(w, "  reason:   %s\n", s.Reason)
		}
		if s.Location != "" {
			fmt.Fprintf(w, "  location: %s\n", s.Location)
		}
		for _, p := range s.Problems {
			fmt.Fprintf(w, "  problem:  %s\n", p)
		}
	}
	if rep.ModifiedAfterSigning {
		fmt.Fprintf(w, "%s: MODIFIED after the last signature\n", name)
	}
	fmt.Fprintf(w, "Result: %s\n", map[bool]string{true: "validly signed", false: strings.ToUpper("not validly signed")}[rep.Valid()])
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// checkPDFSignature verifies the PDF signatures of the document in f (read
// with ReadAt, so f's offset does not matter); a document that is not a
// PDF gives nil.
func checkPDFSignature(f *os.File, opts pdfsign.VerifyOptions) (*pdfSignatureResult, error) {
	head := make([]byte, 5)
	if n, _ := f.ReadAt(head, 0); n < 5 || string(head) != "%PDF-" {
		return nil, nil
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	rep, err := pdfsign.Verify(f, st.Size(), opts)
	if err != nil {
		return nil, fmt.Errorf("check the PDF signature: %w", err)
	}
	return &pdfSignatureResult{Valid: rep.Valid(), Report: rep}, nil
}

// summarizePDFReport says in one line what the PDF's signatures prove.
func summarizePDFReport(rep *pdfsign.Report) string {
	if len(rep.Signatures) == 0 {
		return "none (the PDF itself is not signed)"
	}
	s := rep.Signatures[len(rep.Signatures)-1]
	if !rep.Valid() {
		why := "the signature does not verify"
		switch {
		case rep.ModifiedAfterSigning:
			why = "the PDF was MODIFIED after signing"
		case len(s.Problems) > 0:
			why = s.Problems[0]
		}
		return "INVALID: " + why
	}
	out := fmt.Sprintf("valid, PAdES %s, signed by %s (issuer %s, %s)", s.Level, s.Signer, s.Issuer,
		map[bool]string{true: "trusted", false: "issuer not in your trusted roots: see --ca"}[s.Trusted])
	if s.Level == "" {
		out = fmt.Sprintf("valid (%s, not PAdES), signed by %s", s.SubFilter, s.Signer)
	}
	if t := s.Timestamp; t != nil {
		out += fmt.Sprintf("; timestamp %s by %s", t.Time.UTC().Format(time.RFC3339), t.TSA)
	}
	return out
}
