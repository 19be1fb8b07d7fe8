package envelope

import (
	"path"
	"strings"
	"unicode"
)

// SafeFileName reduces a file name from a message (chosen by its sender) to
// a base name that is safe to create in a directory: no path separators,
// no control characters, no leading dots. It returns "" if nothing is left.
func SafeFileName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(name)
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '/' || r == ':' || r == 0 {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	if name == "" || name == "_" {
		return ""
	}
	return name
}
