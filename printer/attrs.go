package printer

import (
	"time"

	"github.com/OpenPrinting/goipp"
)

// Small constructors for IPP attributes.

func attrKeyword(name string, vals ...string) goipp.Attribute {
	return attrStrings(name, goipp.TagKeyword, vals...)
}

func attrStrings(name string, tag goipp.Tag, vals ...string) goipp.Attribute {
	a := goipp.Attribute{Name: name}
	for _, v := range vals {
		a.Values.Add(tag, goipp.String(v))
	}
	return a
}

func attrInt(name string, vals ...int) goipp.Attribute {
	a := goipp.Attribute{Name: name}
	for _, v := range vals {
		a.Values.Add(goipp.TagInteger, goipp.Integer(v))
	}
	return a
}

func attrEnum(name string, vals ...int) goipp.Attribute {
	a := goipp.Attribute{Name: name}
	for _, v := range vals {
		a.Values.Add(goipp.TagEnum, goipp.Integer(v))
	}
	return a
}

func attrBool(name string, v bool) goipp.Attribute {
	return goipp.MakeAttribute(name, goipp.TagBoolean, goipp.Boolean(v))
}

func attrRange(name string, lo, hi int) goipp.Attribute {
	return goipp.MakeAttribute(name, goipp.TagRange, goipp.Range{Lower: lo, Upper: hi})
}

func attrRes(name string, dpis ...int) goipp.Attribute {
	a := goipp.Attribute{Name: name}
	for _, d := range dpis {
		a.Values.Add(goipp.TagResolution, goipp.Resolution{Xres: d, Yres: d, Units: goipp.UnitsDpi})
	}
	return a
}

func attrTime(name string, t time.Time) goipp.Attribute {
	return goipp.MakeAttribute(name, goipp.TagDateTime, goipp.Time{Time: t})
}

func attrNoValue(name string) goipp.Attribute {
	return goipp.MakeAttribute(name, goipp.TagNoValue, goipp.Void{})
}

func attrColl(name string, vals ...goipp.Collection) goipp.Attribute {
	a := goipp.Attribute{Name: name}
	for _, v := range vals {
		a.Values.Add(goipp.TagBeginCollection, v)
	}
	return a
}

// findAttr returns the attribute called name in attrs.
func findAttr(attrs goipp.Attributes, name string) (goipp.Attribute, bool) {
	for _, a := range attrs {
		if a.Name == name {
			return a, true
		}
	}
	return goipp.Attribute{}, false
}

// stringValue returns the single string value of attribute name if it
// has one of the given tags.
func stringValue(attrs goipp.Attributes, name string, tags ...goipp.Tag) (string, bool, error) {
	a, ok := findAttr(attrs, name)
	if !ok {
		return "", false, nil
	}
	if len(a.Values) != 1 || !tagIn(a.Values[0].T, tags) {
		return "", true, &ippError{Status: goipp.StatusErrorBadRequest, Msg: "bad " + name, Unsupported: goipp.Attributes{a}}
	}
	s, ok := a.Values[0].V.(goipp.String)
	if !ok {
		return "", true, errorf(goipp.StatusErrorBadRequest, "bad %s", name)
	}
	return string(s), true, nil
}

// intValue returns the single integer value of attribute name.
func intValue(attrs goipp.Attributes, name string) (int, bool, error) {
	a, ok := findAttr(attrs, name)
	if !ok {
		return 0, false, nil
	}
	if len(a.Values) != 1 {
		return 0, true, &ippError{Status: goipp.StatusErrorBadRequest, Msg: "bad " + name, Unsupported: goipp.Attributes{a}}
	}
	i, ok := a.Values[0].V.(goipp.Integer)
	if a.Values[0].T != goipp.TagInteger || !ok {
		return 0, true, &ippError{Status: goipp.StatusErrorBadRequest, Msg: "bad " + name, Unsupported: goipp.Attributes{a}}
	}
	return int(i), true, nil
}

// boolValue returns the single boolean value of attribute name.
func boolValue(attrs goipp.Attributes, name string) (bool, bool, error) {
	a, ok := findAttr(attrs, name)
	if !ok {
		return false, false, nil
	}
	if len(a.Values) != 1 {
		return false, true, &ippError{Status: goipp.StatusErrorBadRequest, Msg: "bad " + name, Unsupported: goipp.Attributes{a}}
	}
	b, ok := a.Values[0].V.(goipp.Boolean)
	if a.Values[0].T != goipp.TagBoolean || !ok {
		return false, true, &ippError{Status: goipp.StatusErrorBadRequest, Msg: "bad " + name, Unsupported: goipp.Attributes{a}}
	}
	return bool(b), true, nil
}

func tagIn(t goipp.Tag, tags []goipp.Tag) bool {
	for _, x := range tags {
		if t == x {
			return true
		}
	}
	return false
}

// textValue returns the text of a string or string-with-language value.
func textValue(v goipp.Value) string {
	switch x := v.(type) {
	case goipp.String:
		return string(x)
	case goipp.TextWithLang:
		return x.Text
	}
	return v.String()
}
