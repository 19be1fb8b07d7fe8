package render

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

var disableConfigDir sync.Once

// pdfConfig returns a pdfcpu configuration in relaxed validation mode
// (strict mode rejects common producers' output) that never touches the
// user's home directory.
func pdfConfig() *model.Configuration {
	disableConfigDir.Do(api.DisableConfigDir)
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	conf.Optimize = false
	return conf
}

// pdfToPDF validates a PDF and passes it through unchanged, appending an
// incremental update that sets the document information (title, author,
// creator, creation date, job ticket). The original bytes stay as they
// were, so even digital signatures remain valid. A PDF whose
// cross-reference table is broken is first rebuilt by pdfcpu. Encrypted
// PDFs pass through without the update.
//
// pdfcpu needs random access: in is used directly when it is an
// io.ReadSeeker, otherwise it is held in memory (never on disk) up to
// Limits.MaxPDFBytes.
func pdfToPDF(ctx context.Context, in io.Reader, out io.Writer, meta Meta, lim Limits) (Info, error) {
	rs, size, err := seekable(in, lim)
	if err != nil {
		return Info{}, err
	}
	doc, err := readPDF(rs)
	if err == nil {
		if err := ctx.Err(); err != nil {
			return Info{}, err
		}
		if doc.ctx.Encrypt != nil {
			info := doc.info()
			info.Encrypted = true
			if _, err := rs.Seek(0, io.SeekStart); err != nil {
				return Info{}, err
			}
			_, err := io.Copy(out, &ctxReader{ctx: ctx, r: rs})
			return info, err
		}
		if table, ok := doc.objectTable(rs); ok {
			return doc.info(), doc.writeUpdate(ctx, rs, size, table, out, meta)
		}
	}
	// The cross-reference data is missing or does not match the file:
	// rebuild it by scanning the file (in memory), as viewers do.
	repaired, rerr := repairXRef(rs, size)
	if rerr == nil {
		frs := bytes.NewReader(repaired)
		if fixed, ferr := readPDF(frs); ferr == nil && fixed.ctx.Encrypt == nil {
			if table, ok := fixed.objectTable(frs); ok {
				return fixed.info(), fixed.writeUpdate(ctx, frs, int64(len(repaired)), table, out, meta)
			}
		}
	}
	if err != nil {
		return Info{}, err
	}
	// pdfcpu could read the file its own way: let it write the document
	// anew (in memory), then update that.
	var fixed bytes.Buffer
	if err := api.WriteContext(doc.ctx, &fixed); err != nil {
		return Info{}, &FormatError{Format: FormatPDF, Msg: "rebuild damaged file", Err: err}
	}
	frs := bytes.NewReader(fixed.Bytes())
	doc, err = readPDF(frs)
	if err != nil {
		return Info{}, err
	}
	table, ok := doc.objectTable(frs)
	if !ok {
		return Info{}, &FormatError{Format: FormatPDF, Msg: "cross-reference table still inconsistent after rebuilding"}
	}
	return doc.info(), doc.writeUpdate(ctx, frs, int64(fixed.Len()), table, out, meta)
}

// seekable returns in as an io.ReadSeeker and its size, buffering it in
// memory when it cannot seek.
func seekable(in io.Reader, lim Limits) (io.ReadSeeker, int64, error) {
	if rs, ok := in.(io.ReadSeeker); ok {
		start, err := rs.Seek(0, io.SeekCurrent)
		if err == nil && start == 0 {
			size, err := rs.Seek(0, io.SeekEnd)
			if err == nil {
				if size > lim.MaxPDFBytes {
					return nil, 0, &LimitError{Format: FormatPDF, What: "bytes", Value: size, Max: lim.MaxPDFBytes}
				}
				if _, err := rs.Seek(0, io.SeekStart); err != nil {
					return nil, 0, fmt.Errorf("render pdf: %w", err)
				}
				return rs, size, nil
			}
		}
	}
	data, err := io.ReadAll(io.LimitReader(in, lim.MaxPDFBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("render pdf: read: %w", err)
	}
	if int64(len(data)) > lim.MaxPDFBytes {
		return nil, 0, &LimitError{Format: FormatPDF, What: "bytes", Value: int64(len(data)), Max: lim.MaxPDFBytes}
	}
	return bytes.NewReader(data), int64(len(data)), nil
}

// pdfDoc is a PDF read and validated by pdfcpu.
type pdfDoc struct {
	ctx *model.Context
}

func readPDF(rs io.ReadSeeker) (_ *pdfDoc, err error) {
	defer func() {
		// pdfcpu is not hardened against every malformed input.
		if r := recover(); r != nil {
			err = &FormatError{Format: FormatPDF, Msg: fmt.Sprintf("unreadable file (%v)", r)}
		}
	}()
	ctx, err := api.ReadContext(rs, pdfConfig())
	if err != nil {
		return nil, &FormatError{Format: FormatPDF, Msg: "unreadable file", Err: err}
	}
	if ctx.Encrypt == nil {
		if err := api.ValidateContext(ctx); err != nil {
			return nil, &FormatError{Format: FormatPDF, Msg: "invalid file", Err: err}
		}
	}
	if err := ctx.EnsurePageCount(); err != nil {
		return nil, &FormatError{Format: FormatPDF, Msg: "page tree", Err: err}
	}
	if ctx.PageCount == 0 {
		return nil, &FormatError{Format: FormatPDF, Msg: "no pages"}
	}
	return &pdfDoc{ctx: ctx}, nil
}

// info reports page count and sizes.
func (d *pdfDoc) info() Info {
	info := Info{Pages: d.ctx.PageCount}
	if dims, err := d.ctx.PageDims(); err == nil {
		for i, dim := range dims {
			if i == MaxPageSizes {
				break
			}
			info.PageSizes = append(info.PageSizes, PageSize{Width: dim.Width, Height: dim.Height})
		}
	}
	return info
}
