package printer

import "github.com/OpenPrinting/goipp"

// mediaSize is one supported paper size, in hundredths of millimetres.
type mediaSize struct {
	Name string // PWG 5101.1 self-describing name
	X, Y int
}

// mediaSizes lists the supported sizes; the first is the default.
var mediaSizes = []mediaSize{
	{"iso_a4_210x297mm", 21000, 29700},
	{"na_letter_8.5x11in", 21590, 27940},
	{"na_legal_8.5x14in", 21590, 35560},
	{"iso_a5_148x210mm", 14800, 21000},
	{"iso_a3_297x420mm", 29700, 42000},
	{"na_index-4x6_4x6in", 10160, 15240},
	{"iso_dl_110x220mm", 11000, 22000},
}

// readyMedia are the sizes reported as loaded.
var readyMedia = []string{"iso_a4_210x297mm", "na_letter_8.5x11in"}

const (
	mediaMargin = 0 // a virtual printer has no unprintable border
	mediaSource = "main"
	mediaType   = "stationery"
)

func mediaNames() []string {
	out := make([]string, len(mediaSizes))
	for i, m := range mediaSizes {
		out[i] = m.Name
	}
	return out
}

func lookupMedia(name string) (mediaSize, bool) {
	for _, m := range mediaSizes {
		if m.Name == name {
			return m, true
		}
	}
	return mediaSize{}, false
}

// sizeColl returns a media-size collection.
func sizeColl(m mediaSize) goipp.Collection {
	return goipp.Collection{
		attrInt("x-dimension", m.X),
		attrInt("y-dimension", m.Y),
	}
}

// mediaColl returns a full media-col collection for m.
func mediaColl(m mediaSize, withSource bool) goipp.Collection {
	c := goipp.Collection{
		attrInt("media-bottom-margin", mediaMargin),
		attrInt("media-left-margin", mediaMargin),
		attrInt("media-right-margin", mediaMargin),
		goipp.MakeAttribute("media-size", goipp.TagBeginCollection, sizeColl(m)),
		attrStrings("media-size-name", goipp.TagKeyword, m.Name),
	}
	if withSource {
		c = append(c, attrKeyword("media-source", mediaSource))
	}
	c = append(c,
		attrInt("media-top-margin", mediaMargin),
		attrKeyword("media-type", mediaType),
	)
	return c
}

// mediaColAttrs returns media-col-default/-ready/-database style values.
func mediaCols(names []string, withSource bool) []goipp.Collection {
	var out []goipp.Collection
	for _, n := range names {
		if m, ok := lookupMedia(n); ok {
			out = append(out, mediaColl(m, withSource))
		}
	}
	return out
}
