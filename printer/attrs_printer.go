package printer

import (
	"crypto/sha1"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/OpenPrinting/goipp"
)

// Capabilities advertised by every queue.
var (
	documentFormats = []string{
		"application/pdf", "image/pwg-raster", "image/urf", "image/jpeg",
		"image/png", "text/plain", "application/octet-stream",
	}
	sidesSupported      = []string{"one-sided", "two-sided-long-edge", "two-sided-short-edge"}
	colorModes          = []string{"auto", "color", "monochrome"}
	contentOptimize     = []string{"auto", "graphic", "photo", "text", "text-and-graphic"}
	renderingIntents    = []string{"auto", "perceptual", "relative", "saturation"}
	scalingSupported    = []string{"auto", "auto-fit", "fill", "fit", "none"}
	outputBins          = []string{"face-down"}
	docHandling         = []string{"separate-documents-collated-copies", "separate-documents-uncollated-copies"}
	resolutions         = []int{150, 300}
	pwgTypes            = []string{"sgray_8", "srgb_8"}
	whichJobs           = []string{"completed", "not-completed", "all"}
	pdfVersions         = []string{"adobe-1.3", "adobe-1.4", "adobe-1.5", "adobe-1.6", "adobe-1.7", "iso-32000-1_2008", "iso-32000-2_2017"}
	urfSupported        = []string{"V1.4", "CP1", "DM1", "IS1", "MT1", "PQ3-4-5", "RS150-300", "SRGB24", "W8"}
	creationAttrsPublic = []string{
		"copies", "finishings", "job-name", "job-priority", "job-sheets", "media", "media-col",
		"multiple-document-handling", "number-up", "orientation-requested", "output-bin",
		"overrides", "page-ranges", "print-color-mode", "print-content-optimize", "print-quality",
		"print-rendering-intent", "print-scaling", "printer-resolution", "sides",
	}
)

const (
	maxCopies   = 999
	makeModel   = "sealprint Sealed Printer"
	deviceID    = "MFG:sealprint;MDL:Sealed Printer;CMD:PDF,PWGRaster,URF,JPEG,PNG,TXT;CLS:PRINTER;"
	printerIcon = "/icons/printer.png"
)

// templateNames are the job template attributes (their -default and
// -supported printer attributes form the "job-template" group).
var templateNames = map[string]bool{
	"copies": true, "finishings": true, "job-hold-until": true, "job-priority": true,
	"job-sheets": true, "media": true, "media-col": true, "multiple-document-handling": true,
	"number-up": true, "orientation-requested": true, "output-bin": true, "overrides": true,
	"page-ranges": true, "print-color-mode": true, "print-content-optimize": true,
	"print-quality": true, "print-rendering-intent": true, "print-scaling": true,
	"printer-resolution": true, "sides": true,
}

// isJobTemplateAttr reports whether a printer attribute belongs to the
// job-template group.
func isJobTemplateAttr(name string) bool {
	switch name {
	case "media-ready", "media-col-ready", "media-size-supported", "media-source-supported",
		"media-type-supported", "media-bottom-margin-supported", "media-left-margin-supported",
		"media-right-margin-supported", "media-top-margin-supported", "job-creation-attributes-supported":
		return true
	}
	base := strings.TrimSuffix(strings.TrimSuffix(name, "-default"), "-supported")
	return base != name && templateNames[base]
}

// printerUUID derives a stable UUID (RFC 4122 version 5 style) for a queue.
func printerUUID(queueName string) string {
	h := sha1.Sum([]byte("sealprint-printer:" + queueName))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// printerInfo is the human-readable description of a queue (≤ 127 bytes).
func printerInfo(q Queue) string {
	info := "Sealed print (recipients chosen after printing)"
	if len(q.Recipients) > 0 {
		info = "Sealed to " + strings.Join(q.Recipients, ", ")
	}
	if len(info) > 127 {
		info = info[:124] + "..."
	}
	return info
}

// printerAttrs returns all printer attributes of q as seen by rq's client.
// media-col-database is included only when withDatabase is set.
func (s *Server) printerAttrs(rq *request, withDatabase bool) goipp.Attributes {
	q := rq.queue
	health := s.state()
	printerState := 3 // idle
	if !health.Accepting {
		printerState = 5 // stopped
	}
	host := requestHost(rq.http, s.cfg.Listen)
	base := "ipp://" + host + "/ipp/print/" + q.Name
	web := "http://" + host
	now := s.cfg.Now()
	s.configMu.Lock()
	cfgTime := s.configTime
	s.configMu.Unlock()
	auth := "none"
	if !isLoopbackRemote(rq.http.RemoteAddr) {
		auth = "basic"
	}
	queued := len(s.jobs.list(func(j *job) bool { return j.Queue == q.Name && j.State < jobCanceled }))
	text := func(name, v string) goipp.Attribute { return attrStrings(name, goipp.TagText, v) }
	uri := func(name string, v ...string) goipp.Attribute { return attrStrings(name, goipp.TagURI, v...) }
	mime := func(name string, v ...string) goipp.Attribute { return attrStrings(name, goipp.TagMimeType, v...) }
	ops := make([]int, len(supportedOps))
	for i, op := range supportedOps {
		ops[i] = int(op)
	}
	var sizes []goipp.Collection
	for _, m := range mediaSizes {
		sizes = append(sizes, sizeColl(m))
	}
	a := goipp.Attributes{
		attrStrings("charset-configured", goipp.TagCharset, "utf-8"),
		attrStrings("charset-supported", goipp.TagCharset, "utf-8", "us-ascii"),
		attrBool("color-supported", true),
		attrKeyword("compression-supported", "none"),
		attrInt("copies-default", 1),
		attrRange("copies-supported", 1, maxCopies),
		mime("document-format-default", "application/octet-stream"),
		mime("document-format-supported", documentFormats...),
		attrEnum("finishings-default", 3),
		attrEnum("finishings-supported", 3),
		attrStrings("generated-natural-language-supported", goipp.TagLanguage, "en"),
		attrKeyword("identify-actions-default", "display"),
		attrKeyword("identify-actions-supported", "display"),
		attrKeyword("ipp-features-supported", "ipp-everywhere"),
		attrKeyword("ipp-versions-supported", "1.0", "1.1", "2.0"),
		attrKeyword("job-creation-attributes-supported", creationAttrsPublic...),
		attrKeyword("job-hold-until-default", "no-hold"),
		attrKeyword("job-hold-until-supported", "no-hold"),
		attrBool("job-ids-supported", true),
		attrRange("job-k-octets-supported", 0, int(min(s.cfg.MaxDocumentBytes>>10, 1<<31-1))),
		attrInt("job-priority-default", 50),
		attrInt("job-priority-supported", 100),
		attrKeyword("job-sheets-default", "none"),
		attrKeyword("job-sheets-supported", "none"),
		attrInt("media-bottom-margin-supported", mediaMargin),
		attrColl("media-col-default", mediaCols(mediaNames()[:1], true)...),
		attrColl("media-col-ready", mediaCols(readyMedia, true)...),
		attrKeyword("media-col-supported", "media-bottom-margin", "media-left-margin", "media-right-margin",
			"media-size", "media-size-name", "media-source", "media-top-margin", "media-type"),
		attrKeyword("media-default", mediaSizes[0].Name),
		attrInt("media-left-margin-supported", mediaMargin),
		attrKeyword("media-ready", readyMedia...),
		attrInt("media-right-margin-supported", mediaMargin),
		attrColl("media-size-supported", sizes...),
		attrKeyword("media-source-supported", mediaSource),
		attrKeyword("media-supported", mediaNames()...),
		attrInt("media-top-margin-supported", mediaMargin),
		attrKeyword("media-type-supported", mediaType),
		text("mopria-certified", "1.3"),
		attrKeyword("multiple-document-handling-default", docHandling[0]),
		attrKeyword("multiple-document-handling-supported", docHandling...),
		attrBool("multiple-document-jobs-supported", false),
		attrInt("multiple-operation-time-out", int(s.cfg.MultipleOperationTimeout.Seconds())),
		attrKeyword("multiple-operation-time-out-action", "abort-job"),
		attrStrings("natural-language-configured", goipp.TagLanguage, "en"),
		attrInt("number-up-default", 1),
		attrInt("number-up-supported", 1),
		attrEnum("operations-supported", ops...),
		attrEnum("orientation-requested-default", 3),
		attrEnum("orientation-requested-supported", 3, 4, 5, 6),
		attrKeyword("output-bin-default", outputBins[0]),
		attrKeyword("output-bin-supported", outputBins...),
		attrKeyword("overrides-supported", "document-number", "pages"),
		attrBool("page-ranges-supported", true),
		attrInt("pages-per-minute", 60),
		attrInt("pages-per-minute-color", 60),
		attrKeyword("pdf-versions-supported", pdfVersions...),
		attrKeyword("pdl-override-supported", "attempted"),
		attrBool("preferred-attributes-supported", false),
		attrKeyword("print-color-mode-default", "color"),
		attrKeyword("print-color-mode-supported", colorModes...),
		attrKeyword("print-content-optimize-default", "auto"),
		attrKeyword("print-content-optimize-supported", contentOptimize...),
		attrEnum("print-quality-default", 4),
		attrEnum("print-quality-supported", 3, 4, 5),
		attrKeyword("print-rendering-intent-default", "auto"),
		attrKeyword("print-rendering-intent-supported", renderingIntents...),
		attrKeyword("print-scaling-default", "auto"),
		attrKeyword("print-scaling-supported", scalingSupported...),
		attrTime("printer-config-change-date-time", cfgTime),
		attrInt("printer-config-change-time", s.upTime(cfgTime)),
		attrTime("printer-current-time", now),
		text("printer-device-id", deviceID),
		text("printer-dns-sd-name", "Sealed "+q.Name),
		goipp.MakeAttribute("printer-geo-location", goipp.TagUnknown, goipp.Void{}),
		attrKeyword("printer-get-attributes-supported", "document-format"),
		uri("printer-icons", web+printerIcon),
		text("printer-info", printerInfo(q)),
		attrBool("printer-is-accepting-jobs", health.Accepting),
		attrKeyword("printer-kind", "document"),
		text("printer-location", "This computer"),
		text("printer-make-and-model", makeModel),
		uri("printer-more-info", web+"/"),
		attrStrings("printer-name", goipp.TagName, q.Name),
		text("printer-organization", ""),
		text("printer-organizational-unit", ""),
		attrRes("printer-resolution-default", 300),
		attrRes("printer-resolution-supported", resolutions...),
		attrEnum("printer-state", printerState),
		attrTime("printer-state-change-date-time", s.stateChanged()),
		attrInt("printer-state-change-time", s.upTime(s.stateChanged())),
		text("printer-state-message", health.Message),
		attrKeyword("printer-state-reasons", health.Reasons...),
		attrStrings("printer-supply", goipp.TagString, "index=1;class=supplyThatIsConsumed;type=other;unit=percent;maxcapacity=100;level=100;colorantname=unknown;"),
		text("printer-supply-description", "Encryption"),
		uri("printer-supply-info-uri", web+"/"),
		attrInt("printer-up-time", s.upTime(now)),
		uri("printer-uri-supported", base),
		uri("printer-uuid", printerUUID(q.Name)),
		attrRes("pwg-raster-document-resolution-supported", resolutions...),
		attrKeyword("pwg-raster-document-sheet-back", "normal"),
		attrKeyword("pwg-raster-document-type-supported", pwgTypes...),
		attrInt("queued-job-count", queued),
		attrKeyword("sides-default", "one-sided"),
		attrKeyword("sides-supported", sidesSupported...),
		attrKeyword("uri-authentication-supported", auth),
		attrKeyword("uri-security-supported", "none"),
		attrKeyword("urf-supported", urfSupported...),
		attrKeyword("which-jobs-supported", whichJobs...),
	}
	if withDatabase {
		a = append(a, attrColl("media-col-database", mediaCols(mediaNames(), false)...))
	}
	return a
}

// upTime converts t to printer-up-time seconds (always ≥ 1).
func (s *Server) upTime(t time.Time) int {
	return int(t.Sub(s.start).Seconds()) + 1
}

// requestHost returns the host:port the client used to reach us, for the
// URIs we report, falling back to the listen address.
func requestHost(r *http.Request, listen string) string {
	h := r.Host
	if h == "" || len(h) > 255 {
		return listen
	}
	for _, c := range h {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]_", c)
		if !ok {
			return listen
		}
	}
	return h
}
