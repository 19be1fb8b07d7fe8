package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/sealprint/sealprint/internal/atomicfile"
	"github.com/sealprint/sealprint/render"
)

func runRender(ctx context.Context, e *env, args []string) error {
	const usage = "sealprint render FILE [--format MIME] -o OUT.pdf"
	fs := newFlags("render", usage+"\n\nConverts FILE (PDF, PWG raster, Apple raster, JPEG, PNG or text) to the PDF a recipient\n"+
		"gets, with the same code the printer runs on each job. FILE - reads standard input.", e.stderr)
	format := fs.String("format", "", "document MIME type (default: detected from the content); one of "+strings.Join(render.Formats, ", "))
	out := fs.String("o", "", "output PDF (- for standard output)")
	title := fs.String("title", "", "document title (default: the file name)")
	author := fs.String("author", "", "document author (the sender)")
	pos, err := parsePositional(fs, args, 1, 1, usage)
	if err != nil {
		return err
	}
	if *out == "" {
		return usageError("render needs -o OUT.pdf")
	}
	in, err := openInput(e, pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	meta := render.Meta{Title: *title, Author: *author}
	if meta.Title == "" && pos[0] != "-" {
		meta.Title = filepath.Base(pos[0])
	}
	var info render.Info
	fill := func(w io.Writer) error {
		var err error
		info, err = render.ToPDF(ctx, *format, in, w, meta)
		return err
	}
	report := e.stdout
	if *out == "-" {
		report = e.stderr
		err = fill(e.stdout)
	} else {
		err = atomicfile.WriteOutput(*out, 0o644, fill)
	}
	if err != nil {
		return fmt.Errorf("render %s: %w", pos[0], err)
	}
	size := ""
	if len(info.PageSizes) > 0 {
		ps := info.PageSizes[0]
		size = fmt.Sprintf(", first page %.0f×%.0f pt (%.0f×%.0f mm)", ps.Width, ps.Height, ps.Width/72*25.4, ps.Height/72*25.4)
	}
	pages := "pages"
	if info.Pages == 1 {
		pages = "page"
	}
	pdfa := "unknown"
	if info.PDFA {
		pdfa = "yes (PDF/A-2b)"
	}
	fmt.Fprintf(report, "%s: %d %s, format %s%s, PDF/A: %s\n", *out, info.Pages, pages, info.Format, size, pdfa)
	return nil
}
