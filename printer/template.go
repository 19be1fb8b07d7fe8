package printer

import (
	"strings"

	"github.com/OpenPrinting/goipp"
)

// jobTemplate is the validated job template of a request.
type jobTemplate struct {
	Attrs goipp.Attributes  // accepted attributes, echoed in job attributes
	Text  map[string]string // the same as text, for the spooler
}

// checkTemplate validates the job template attributes of the request.
// Unsupported attributes or values are listed in rq.unsupported and
// ignored; with ipp-attribute-fidelity true they fail the request.
func checkTemplate(rq *request) (jobTemplate, error) {
	t := jobTemplate{Text: map[string]string{}}
	fidelity, _, err := boolValue(rq.msg.Operation, "ipp-attribute-fidelity")
	if err != nil {
		return t, err
	}
	var bad goipp.Attributes
	for _, a := range rq.msg.Job {
		if !templateValueOK(a) {
			bad = append(bad, a)
			continue
		}
		t.Attrs = append(t.Attrs, a)
		t.Text[a.Name] = valuesText(a)
	}
	if len(bad) > 0 {
		if fidelity {
			return t, &ippError{Status: goipp.StatusErrorAttributesOrValues,
				Msg: "unsupported job attributes or values", Unsupported: bad}
		}
		rq.unsupported = append(rq.unsupported, bad...)
	}
	return t, nil
}

// valuesText renders an attribute's values as text, comma separated.
func valuesText(a goipp.Attribute) string {
	parts := make([]string, 0, len(a.Values))
	for _, v := range a.Values {
		parts = append(parts, textValue(v.V))
	}
	return strings.Join(parts, ",")
}

// templateValueOK reports whether a job template attribute and all its
// values are supported.
func templateValueOK(a goipp.Attribute) bool {
	if len(a.Values) == 0 {
		return false
	}
	single := len(a.Values) == 1
	v := a.Values[0]
	switch a.Name {
	case "copies":
		return single && intIn(v, goipp.TagInteger, 1, maxCopies)
	case "job-priority":
		return single && intIn(v, goipp.TagInteger, 1, 100)
	case "number-up":
		return single && intIn(v, goipp.TagInteger, 1, 1)
	case "orientation-requested":
		return single && intIn(v, goipp.TagEnum, 3, 6)
	case "print-quality":
		return single && intIn(v, goipp.TagEnum, 3, 5)
	case "finishings":
		for _, x := range a.Values {
			if !intIn(x, goipp.TagEnum, 3, 3) {
				return false
			}
		}
		return true
	case "sides":
		return single && keywordIn(v, sidesSupported)
	case "print-color-mode":
		return single && keywordIn(v, colorModes)
	case "print-content-optimize":
		return single && keywordIn(v, contentOptimize)
	case "print-rendering-intent":
		return single && keywordIn(v, renderingIntents)
	case "print-scaling":
		return single && keywordIn(v, scalingSupported)
	case "output-bin":
		return single && keywordIn(v, outputBins)
	case "multiple-document-handling":
		return single && keywordIn(v, docHandling)
	case "job-sheets":
		return single && keywordIn(v, []string{"none"})
	case "job-hold-until":
		return single && keywordIn(v, []string{"no-hold"})
	case "media":
		return single && keywordIn(v, mediaNames())
	case "media-col":
		return single && v.T == goipp.TagBeginCollection && mediaColOK(v.V)
	case "printer-resolution":
		if !single || v.T != goipp.TagResolution {
			return false
		}
		r, ok := v.V.(goipp.Resolution)
		if !ok || r.Units != goipp.UnitsDpi || r.Xres != r.Yres {
			return false
		}
		for _, d := range resolutions {
			if r.Xres == d {
				return true
			}
		}
		return false
	case "page-ranges":
		prev := 0
		for _, x := range a.Values {
			r, ok := x.V.(goipp.Range)
			if x.T != goipp.TagRange || !ok || r.Lower < 1 || r.Upper < r.Lower || r.Lower <= prev {
				return false
			}
			prev = r.Upper
		}
		return true
	case "overrides":
		for _, x := range a.Values {
			if x.T != goipp.TagBeginCollection {
				return false
			}
		}
		return true
	}
	return false
}

func intIn(v goipp.TaggedValue, tag goipp.Tag, lo, hi int) bool {
	i, ok := v.V.(goipp.Integer)
	return ok && v.T == tag && int(i) >= lo && int(i) <= hi
}

func keywordIn(v goipp.TaggedValue, allowed []string) bool {
	if v.T != goipp.TagKeyword && v.T != goipp.TagName && v.T != goipp.TagNameLang {
		return false
	}
	s := textValue(v.V)
	for _, x := range allowed {
		if s == x {
			return true
		}
	}
	return false
}

// mediaColOK checks a media-col value: known size (by name or by
// dimensions within 1 mm) and known source/type when given.
func mediaColOK(v goipp.Value) bool {
	c, ok := v.(goipp.Collection)
	if !ok {
		return false
	}
	for _, m := range c {
		if len(m.Values) != 1 {
			return false
		}
		mv := m.Values[0]
		switch m.Name {
		case "media-size":
			sz, ok := mv.V.(goipp.Collection)
			if !ok {
				return false
			}
			x, _, err1 := intValue(goipp.Attributes(sz), "x-dimension")
			y, _, err2 := intValue(goipp.Attributes(sz), "y-dimension")
			if err1 != nil || err2 != nil || !knownSize(x, y) {
				return false
			}
		case "media-size-name":
			if !keywordIn(mv, mediaNames()) {
				return false
			}
		case "media-source":
			if !keywordIn(mv, []string{mediaSource, "auto"}) {
				return false
			}
		case "media-type":
			if !keywordIn(mv, []string{mediaType, "auto"}) {
				return false
			}
		case "media-bottom-margin", "media-left-margin", "media-right-margin", "media-top-margin":
			if !intIn(mv, goipp.TagInteger, 0, 10000) {
				return false
			}
		}
	}
	return true
}

func knownSize(x, y int) bool {
	for _, m := range mediaSizes {
		if abs(m.X-x) <= 100 && abs(m.Y-y) <= 100 {
			return true
		}
	}
	return false
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}
