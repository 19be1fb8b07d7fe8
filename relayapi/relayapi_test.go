package relayapi

import (
	"bytes"
	"testing"
)

func TestParseLink(t *testing.T) {
	base, id, secret, err := ParseLink("https://relay.example/prefix/d/AAAAAAAAAAAAAAAAAAAAAA#s3cret")
	if err != nil || base.String() != "https://relay.example/prefix" || id != "AAAAAAAAAAAAAAAAAAAAAA" || secret != "s3cret" {
		t.Fatal(base, id, secret, err)
	}
	if got := Link(base.String(), id); got != "https://relay.example/prefix/d/AAAAAAAAAAAAAAAAAAAAAA" {
		t.Errorf("Link = %q", got)
	}
	for _, bad := range []string{
		"https://relay.example/", "https://relay.example/d/../x", "::",
		"https://relay.example/d/AAAAAAAAAAAAAAAAAAAAAB", // non-canonical last character
		"ftp://relay.example/d/AAAAAAAAAAAAAAAAAAAAAA",
		"/d/AAAAAAAAAAAAAAAAAAAAAA",
	} {
		if _, _, _, err := ParseLink(bad + "#topsecret"); err == nil {
			t.Errorf("%q accepted", bad)
		} else if bytes.Contains([]byte(err.Error()), []byte("topsecret")) {
			t.Errorf("error for %q quotes the secret: %v", bad, err)
		}
	}
}

func TestDropID(t *testing.T) {
	id, err := NewDropID(bytes.NewReader(bytes.Repeat([]byte{0xa5}, 16)))
	if err != nil || !ValidDropID(id) {
		t.Fatalf("NewDropID = %q, %v", id, err)
	}
	for _, bad := range []string{"", "abc", id + "A", id[:21] + "!", "AAAAAAAAAAAAAAAAAAAAAB", "../../../../etc/passwd"} {
		if ValidDropID(bad) {
			t.Errorf("ValidDropID(%q) = true", bad)
		}
	}
}

func FuzzParseLink(f *testing.F) {
	f.Add("https://relay.example/d/AAAAAAAAAAAAAAAAAAAAAA#s")
	f.Add("http://[::1]:8080/x/d/AAAAAAAAAAAAAAAAAAAAAA/")
	f.Fuzz(func(t *testing.T, link string) {
		base, id, _, err := ParseLink(link)
		if err != nil {
			return
		}
		if !ValidDropID(id) {
			t.Fatalf("ParseLink(%q) gave an invalid id %q", link, id)
		}
		if _, id2, _, err := ParseLink(Link(base.String(), id)); err != nil || id2 != id {
			t.Fatalf("round trip of %q: %q, %v", link, id2, err)
		}
	})
}
