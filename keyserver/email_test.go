package keyserver

import "testing"

func TestWKDHashMatchesGnuPG(t *testing.T) {
	// Values printed by gpg-wks-client --print-wkd-hash.
	for local, want := range map[string]string{
		"alice": "kei1q4tipxxu1yj79k9kfukdhfy631xe",
		"Alice": "kei1q4tipxxu1yj79k9kfukdhfy631xe",
	} {
		if got := WKDHash(local); got != want {
			t.Errorf("WKDHash(%q) = %s, want %s", local, got, want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"a@b.example":             "a@b.example",
		" Martin@Police.Example ": "martin@police.example",
		"first.last@x.example":    "first.last@x.example",
		"a+tag@x.example":         "a+tag@x.example",
		"a@b@c":                   "",
		"<a@b.example>":           "",
		"a\r\n@b.example":         "",
		"Name <a@b.example>":      "",
		"a@":                      "",
		"@b":                      "",
		".a@b.example":            "",
		"a..b@x.example":          "",
		"a@x..example":            "",
		"\"quoted\"@x.example":    "",
		"a@x.example\x00":         "",
		"a b@x.example":           "",
		string(make([]byte, 300)): "",
	} {
		if got := NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEmailOfUserID(t *testing.T) {
	for in, want := range map[string]string{
		"Alice <alice@police.example>":             "alice@police.example",
		"Alice (work) <Alice@Police.example>":      "alice@police.example",
		"alice@police.example":                     "alice@police.example",
		"Alice":                                    "",
		"Alice <not an address>":                   "",
		"Alice <a@b.example":                       "",
		"Eve <eve@x.example> <alice@y.example>":    "alice@y.example",
		"Bob <bob@x.example>\n<mallory@x.example>": "",
	} {
		if got := emailOfUserID(in); got != want {
			t.Errorf("emailOfUserID(%q) = %q, want %q", in, got, want)
		}
	}
}
