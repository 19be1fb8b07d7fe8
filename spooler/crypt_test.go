package spooler

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
)

func testCryptor(t testing.TB) *cryptor {
	c, err := newCryptor(bytes.Repeat([]byte{1}, 32), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func encryptBytes(t testing.TB, c *cryptor, plain []byte) []byte {
	var buf bytes.Buffer
	w, err := c.newEncryptWriter(&buf, "job-x", "doc")
	if err != nil {
		t.Fatal(err)
	}
	// Odd write sizes exercise chunk boundaries.
	for p := plain; len(p) > 0; {
		n := min(len(p), 7777)
		w.Write(p[:n])
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decryptBytes(c *cryptor, enc []byte, job, purpose string) ([]byte, error) {
	r, err := c.newDecryptReader(bytes.NewReader(enc), job, purpose)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestStreamRoundTrip(t *testing.T) {
	c := testCryptor(t)
	for _, n := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 2 * chunkSize, 3*chunkSize + 5} {
		plain := make([]byte, n)
		rand.Read(plain)
		enc := encryptBytes(t, c, plain)
		chunks := max(1, (n+chunkSize-1)/chunkSize)
		if want := headerSize + n + chunks*tagSize; len(enc) != want {
			t.Fatalf("n=%d: %d bytes, want %d", n, len(enc), want)
		}
		got, err := decryptBytes(c, enc, "job-x", "doc")
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("n=%d: err %v, equal %v", n, err, bytes.Equal(got, plain))
		}
	}
}

func TestStreamRejectsTampering(t *testing.T) {
	c := testCryptor(t)
	plain := bytes.Repeat([]byte("secret "), chunkSize/3)
	enc := encryptBytes(t, c, plain)
	full := chunkSize + tagSize
	cases := map[string][]byte{
		"truncated at chunk boundary": enc[:headerSize+full],
		"truncated in chunk":          enc[:len(enc)-3],
		"header only":                 enc[:headerSize],
		"flipped bit":                 flip(enc, headerSize+100),
		"flipped key":                 flip(enc, 20),
		"extra byte":                  append(append([]byte(nil), enc...), 0),
		"swapped chunks":              swap(enc, full),
	}
	for name, b := range cases {
		got, err := decryptBytes(c, b, "job-x", "doc")
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err %v, %d bytes", name, err, len(got))
		}
	}
	// Bound to its job and purpose.
	if _, err := decryptBytes(c, enc, "job-y", "doc"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("other job: %v", err)
	}
	if _, err := decryptBytes(c, enc, "job-x", "pdf"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("other purpose: %v", err)
	}
	other, _ := newCryptor(bytes.Repeat([]byte{2}, 32), rand.Reader)
	if _, err := decryptBytes(other, enc, "job-x", "doc"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("other spool key: %v", err)
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x80
	return c
}

func swap(b []byte, full int) []byte {
	c := append([]byte(nil), b...)
	a := c[headerSize : headerSize+full]
	d := append([]byte(nil), c[headerSize+full:headerSize+2*full]...)
	copy(c[headerSize+full:], a)
	copy(c[headerSize:], d)
	return c
}

func TestRecordSeal(t *testing.T) {
	c := testCryptor(t)
	s, err := c.sealRecord("job-a", []byte(`{"id":"job-a"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.openRecord("job-b", s); !errors.Is(err, ErrCorrupt) {
		t.Fatal("record opened under another id")
	}
	if p, err := c.openRecord("job-a", s); err != nil || string(p) != `{"id":"job-a"}` {
		t.Fatal(err)
	}
}

// FuzzDecrypt: arbitrary spool files never panic, and any plaintext
// returned without error was authenticated.
func FuzzDecrypt(f *testing.F) {
	c := testCryptor(f)
	f.Add(encryptBytes(f, c, []byte("hello")))
	f.Add(encryptBytes(f, c, nil))
	f.Add(encryptBytes(f, c, bytes.Repeat([]byte{9}, chunkSize+3)))
	f.Add([]byte("SPL1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decryptBytes(c, b, "job-x", "doc")
		if err == nil && len(got) > 0 && !bytes.Equal(got, []byte("hello")) && got[0] != 9 {
			t.Fatalf("forged plaintext %q", got)
		}
	})
}

// FuzzRecord: arbitrary record files never panic the loader.
func FuzzRecord(f *testing.F) {
	c := testCryptor(f)
	s, _ := c.sealRecord("job-a", []byte(`{"id":"job-a","state":"held"}`))
	f.Add(s)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := c.openRecord("job-a", b); err == nil && string(p) != `{"id":"job-a","state":"held"}` {
			t.Fatalf("forged record %q", p)
		}
	})
}
