package envelope

import (
	"crypto/aes"
	"crypto/sha1"
	"fmt"
	"io"
)

// seipdWriter writes a Symmetrically Encrypted Integrity Protected Data
// packet, version 1 (tag 18): the format GnuPG 2.2 and OpenPGP.js read. The
// MDC's SHA-1 runs on another goroutine while this one encrypts.
type seipdWriter struct {
	out  *partialWriter
	cfb  *cfbEncrypter
	mdc  *asyncHash
	buf  []byte
	done bool
}

// newSEIPDWriter starts the packet on w, encrypting with an AES key.
func newSEIPDWriter(w io.Writer, key []byte, rand io.Reader) (*seipdWriter, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	out, err := newPartialWriter(w, 18)
	if err != nil {
		return nil, err
	}
	if _, err := out.Write([]byte{1}); err != nil { // version 1
		return nil, err
	}
	s := &seipdWriter{out: out, cfb: newCFBEncrypter(block, key), mdc: newAsyncHash(sha1.New()), buf: make([]byte, 64<<10)}
	// The random prefix: one block, then its last two bytes repeated.
	prefix := make([]byte, 18)
	if _, err := io.ReadFull(rand, prefix[:16]); err != nil {
		s.mdc.Stop()
		return nil, err
	}
	prefix[16], prefix[17] = prefix[14], prefix[15]
	if _, err := s.Write(prefix); err != nil {
		s.mdc.Stop()
		return nil, err
	}
	return s, nil
}

// Write encrypts p.
func (s *seipdWriter) Write(p []byte) (int, error) {
	if s.done {
		return 0, fmt.Errorf("write after close")
	}
	total := len(p)
	for len(p) > 0 {
		n := len(p)
		if n > len(s.buf) {
			n = len(s.buf)
		}
		s.mdc.Feed(p[:n])
		s.cfb.XORKeyStream(s.buf[:n], p[:n])
		_, err := s.out.Write(s.buf[:n])
		s.mdc.Wait()
		if err != nil {
			return total - len(p), err
		}
		p = p[n:]
	}
	return total, nil
}

// Close appends the modification detection code and ends the packet.
func (s *seipdWriter) Close() error {
	if s.done {
		return nil
	}
	trailer := []byte{0xD3, 0x14}
	s.mdc.Feed(trailer)
	sum := s.mdc.Sum().Sum(nil)
	s.done = true
	mdc := append(trailer, sum...)
	s.cfb.XORKeyStream(mdc, mdc)
	if _, err := s.out.Write(mdc); err != nil {
		return err
	}
	return s.out.Close()
}

// abort stops the hashing goroutine after a failure.
func (s *seipdWriter) abort() {
	if !s.done {
		s.done = true
		s.mdc.Stop()
	}
}
