package printer

import (
	"slices"

	"github.com/OpenPrinting/goipp"
)

// printerGroups are the attribute group names of requested-attributes
// for printers. "all" leaves out media-col-database, which must be asked
// for by name, as CUPS does.
var printerGroups = map[string]func(string) bool{
	"printer-description": func(n string) bool { return !isJobTemplateAttr(n) && n != "media-col-database" },
	"job-template":        isJobTemplateAttr,
}

// opGetPrinterAttributes handles Get-Printer-Attributes (RFC 8011 section
// 4.2.5).
func (s *Server) opGetPrinterAttributes(rq *request) error {
	req := requestedAttrs(rq, "all")
	withDB := slices.Contains(req, "media-col-database")
	attrs := filterAttrs(s.printerAttrs(rq, withDB), req, printerGroups)
	rq.groups = append(rq.groups, goipp.Group{Tag: goipp.TagPrinterGroup, Attrs: attrs})
	return nil
}
