package printer

import (
	"strings"
	"time"

	"github.com/OpenPrinting/goipp"
)

// jobReasons returns job-state-reasons for a job.
func jobReasons(j job) []string {
	if len(j.Reasons) > 0 {
		return j.Reasons
	}
	switch j.State {
	case jobCompleted:
		return []string{"job-completed-successfully"}
	case jobCanceled:
		return []string{"job-canceled-by-user"}
	case jobAborted:
		return []string{"aborted-by-system"}
	case jobPending:
		return []string{"job-incoming"}
	}
	return []string{"none"}
}

// jobAttrs returns all attributes of j as seen by rq's client.
func (s *Server) jobAttrs(rq *request, j job) goipp.Attributes {
	text := func(name, v string) goipp.Attribute { return attrStrings(name, goipp.TagText, v) }
	upOrNone := func(name string, t time.Time) goipp.Attribute {
		if t.IsZero() {
			return attrNoValue(name)
		}
		return attrInt(name, s.upTime(t))
	}
	dateOrNone := func(name string, t time.Time) goipp.Attribute {
		if t.IsZero() {
			return attrNoValue(name)
		}
		return attrTime(name, t)
	}
	msg := j.Message
	if msg == "" {
		msg = defaultJobMessage(j.State)
	}
	a := goipp.Attributes{
		attrInt("job-id", int(j.ID)),
		attrStrings("job-uri", goipp.TagURI, s.jobURI(rq, j.Queue, j.ID)),
		attrStrings("job-printer-uri", goipp.TagURI, s.printerURI(rq, j.Queue)),
		attrStrings("job-uuid", goipp.TagURI, "urn:uuid:"+j.UUID),
		attrStrings("job-name", goipp.TagName, j.Name),
		attrStrings("job-originating-user-name", goipp.TagName, j.User),
		attrEnum("job-state", j.State),
		attrKeyword("job-state-reasons", jobReasons(j)...),
		text("job-state-message", msg),
		attrInt("job-printer-up-time", s.upTime(s.cfg.Now())),
		attrInt("time-at-creation", s.upTime(j.Created)),
		upOrNone("time-at-processing", j.Processing),
		upOrNone("time-at-completed", j.Completed),
		attrTime("date-time-at-creation", j.Created),
		dateOrNone("date-time-at-processing", j.Processing),
		dateOrNone("date-time-at-completed", j.Completed),
		attrInt("number-of-documents", j.Docs),
		attrInt("number-of-intervening-jobs", 0),
		attrInt("job-k-octets", int((j.Octets+1023)>>10)),
	}
	if j.Format != "" {
		a = append(a, attrStrings("document-format", goipp.TagMimeType, j.Format))
	}
	a = append(a, j.Template...)
	return a
}

// defaultJobMessage describes a job state when no message was set.
func defaultJobMessage(state int) string {
	switch state {
	case jobPending:
		return "Waiting for the document"
	case jobProcessing:
		return "Receiving the document"
	case jobCompleted:
		return "Spooled for sealing"
	case jobCanceled:
		return "Canceled"
	case jobAborted:
		return "Aborted"
	}
	return ""
}

// requestedAttrs returns the requested-attributes keywords, or def when
// the attribute is absent.
func requestedAttrs(rq *request, def ...string) []string {
	a, ok := findAttr(rq.msg.Operation, "requested-attributes")
	if !ok {
		return def
	}
	var out []string
	for _, v := range a.Values {
		if v.T == goipp.TagKeyword {
			out = append(out, strings.ToLower(textValue(v.V)))
		}
	}
	return out
}

// filterAttrs keeps the attributes named in requested, where a group name
// ("all", or one of groups) selects every attribute for which the group's
// function returns true.
func filterAttrs(all goipp.Attributes, requested []string, groups map[string]func(string) bool) goipp.Attributes {
	want := map[string]bool{}
	var sel []func(string) bool
	for _, r := range requested {
		if r == "all" {
			return all
		}
		if g, ok := groups[r]; ok {
			sel = append(sel, g)
			continue
		}
		want[r] = true
	}
	var out goipp.Attributes
	for _, a := range all {
		keep := want[a.Name]
		for _, g := range sel {
			keep = keep || g(a.Name)
		}
		if keep {
			out = append(out, a)
		}
	}
	return out
}

// jobGroups are the attribute group names of requested-attributes for jobs.
var jobGroups = map[string]func(string) bool{
	"job-template":    func(n string) bool { return templateNames[n] },
	"job-description": func(n string) bool { return !templateNames[n] },
}

// jobGroup wraps job attributes in a job group.
func jobGroup(attrs goipp.Attributes) goipp.Group {
	return goipp.Group{Tag: goipp.TagJobGroup, Attrs: attrs}
}
