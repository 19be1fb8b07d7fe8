package envelope

import (
	"fmt"
	"io"
)

// partialChunk is the size of each partial body chunk we write (2^16).
const partialChunkPower = 16
const partialChunk = 1 << partialChunkPower

// partialWriter writes one OpenPGP packet of unknown length with partial
// body lengths (RFC 9580 §4.2.1.4): chunks of 64 KiB, then a final chunk
// with a definite length on Close. Large writes go through without copying.
type partialWriter struct {
	w   io.Writer
	buf []byte
}

// newPartialWriter writes the new-format header for tag and returns the
// body writer.
func newPartialWriter(w io.Writer, tag byte) (*partialWriter, error) {
	if _, err := w.Write([]byte{0xC0 | tag}); err != nil {
		return nil, err
	}
	return &partialWriter{w: w, buf: make([]byte, 0, partialChunk)}, nil
}

func (p *partialWriter) Write(b []byte) (int, error) {
	total := len(b)
	for len(b) > 0 {
		if len(p.buf) == 0 && len(b) >= partialChunk {
			if err := p.chunk(b[:partialChunk]); err != nil {
				return total - len(b), err
			}
			b = b[partialChunk:]
			continue
		}
		n := copy(p.buf[len(p.buf):partialChunk], b)
		p.buf = p.buf[:len(p.buf)+n]
		b = b[n:]
		if len(p.buf) == partialChunk {
			if err := p.chunk(p.buf); err != nil {
				return total - len(b), err
			}
			p.buf = p.buf[:0]
		}
	}
	return total, nil
}

func (p *partialWriter) chunk(b []byte) error {
	if _, err := p.w.Write([]byte{224 + partialChunkPower}); err != nil {
		return err
	}
	_, err := p.w.Write(b)
	return err
}

// Close writes the final chunk with a definite length.
func (p *partialWriter) Close() error {
	n := len(p.buf)
	var hdr []byte
	switch {
	case n < 192:
		hdr = []byte{byte(n)}
	case n < 8384:
		n -= 192
		hdr = []byte{byte(n>>8) + 192, byte(n)}
	default:
		hdr = []byte{255, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	if _, err := p.w.Write(hdr); err != nil {
		return fmt.Errorf("packet length: %w", err)
	}
	_, err := p.w.Write(p.buf)
	p.buf = p.buf[:0]
	return err
}
