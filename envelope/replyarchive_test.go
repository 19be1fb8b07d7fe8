package envelope

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReplyArchiveRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	files := []ReplyFile{
		{Name: "procès-verbal.pdf", Data: strings.NewReader("%PDF-1.7 pv"), Size: 11},
		{Name: "photo 1.jpg", Data: strings.NewReader("jpeg"), Size: 4},
	}
	if err := WriteReplyArchive(&buf, "Bien reçu, merci.", files); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	m, err := ReadReplyArchive(&buf, func(name string, size int64, r io.Reader) error {
		b, err := io.ReadAll(r)
		got[name] = string(b)
		return err
	})
	if err != nil || m.Message != "Bien reçu, merci." || len(got) != 2 || got["procès-verbal.pdf"] != "%PDF-1.7 pv" || got["photo 1.jpg"] != "jpeg" {
		t.Fatalf("read %+v %v, %v", m, got, err)
	}
}

// Each defence of the reader refuses its archive.
func TestReplyArchiveRefused(t *testing.T) {
	archive := func(build func(w io.Writer) error) []byte {
		var b bytes.Buffer
		if err := build(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	ok := func(string, int64, io.Reader) error { return nil }
	for name, data := range map[string][]byte{
		"empty":   nil,
		"garbage": []byte(strings.Repeat("x", 2000)),
		"file not in the manifest": func() []byte {
			var b bytes.Buffer
			WriteReplyArchive(&b, "", []ReplyFile{{Name: "a", Data: strings.NewReader("1"), Size: 1}})
			// Replace the manifest's list by an empty one of the same length.
			return bytes.Replace(b.Bytes(), []byte(`"files":["a"]`), []byte(`"files":[   ]`), 1)
		}(),
		"repeated name": archive(func(w io.Writer) error {
			return WriteReplyArchive(w, "", []ReplyFile{{Name: "A.pdf", Data: strings.NewReader(""), Size: 0}, {Name: "a.pdf", Data: strings.NewReader(""), Size: 0}})
		}),
		"only dots": archive(func(w io.Writer) error {
			return WriteReplyArchive(w, "", []ReplyFile{{Name: "..", Data: strings.NewReader(""), Size: 0}})
		}),
	} {
		if _, err := ReadReplyArchive(bytes.NewReader(data), ok); !errors.Is(err, ErrReplyArchive) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSafeReplyName(t *testing.T) {
	for in, want := range map[string]string{
		"rapport.pdf":           "rapport.pdf",
		"../../etc/passwd":      "_.._etc_passwd",
		`C:\Users\x\a.pdf`:      "C__Users_x_a.pdf",
		"CON.txt":               "_CON.txt",
		".bashrc":               "bashrc",
		"fin. ":                 "fin",
		"a\x00b\u202ec.pdf":     "a_b_c.pdf",
		"...":                   "",
		"procès-verbal n°3.pdf": "procès-verbal n°3.pdf",
	} {
		if got := SafeReplyName(in); got != want {
			t.Errorf("SafeReplyName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzReplyArchive: any archive is read without panic, and every name
// handed out is safe.
func FuzzReplyArchive(f *testing.F) {
	var b bytes.Buffer
	WriteReplyArchive(&b, "msg", []ReplyFile{{Name: "a.pdf", Data: strings.NewReader("abc"), Size: 3}})
	f.Add(b.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ReadReplyArchive(bytes.NewReader(data), func(name string, size int64, r io.Reader) error {
			if name == "" || name != SafeReplyName(name) || strings.ContainsAny(name, `/\`) {
				t.Fatalf("unsafe name %q", name)
			}
			_, err := io.Copy(io.Discard, r)
			return err
		})
	})
}
