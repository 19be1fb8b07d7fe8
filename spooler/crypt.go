package spooler

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Spool files are encrypted with a fresh random AES-256 key per file, in the
// STREAM construction: the plaintext is cut into chunks of chunkSize bytes,
// each sealed with AES-GCM under a nonce made of the chunk index and a
// last-chunk flag, so chunks cannot be reordered, dropped or truncated
// without detection. The file key is wrapped (AES-GCM) by a key derived from
// the spool key, bound to the job id and the file's purpose.
//
//	magic "SPL1" | wrap nonce (12) | wrapped file key (32+16) | chunks…
const (
	fileMagic  = "SPL1"
	chunkSize  = 64 << 10
	tagSize    = 16
	nonceSize  = 12
	keySize    = 32
	headerSize = len(fileMagic) + nonceSize + keySize + tagSize
)

// ErrCorrupt is returned when a spool file or record fails authentication:
// it was tampered with, truncated, or written under another spool key.
var ErrCorrupt = errors.New("spool data is corrupt or was written with another spool key")

// subkey derives a purpose-specific key from the spool key.
func subkey(spoolKey []byte, purpose string) []byte {
	m := hmac.New(sha256.New, spoolKey)
	m.Write([]byte("sealprint spool v1\x00" + purpose))
	return m.Sum(nil)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// fileAAD binds a wrapped file key to its job and purpose.
func fileAAD(jobID, purpose string) []byte {
	return []byte("sealprint spool file\x00" + jobID + "\x00" + purpose)
}

// cryptor encrypts and decrypts spool files and records.
type cryptor struct {
	wrap   cipher.AEAD // wraps per-file keys
	record cipher.AEAD // seals job records
	rand   io.Reader
}

func newCryptor(spoolKey []byte, rand io.Reader) (*cryptor, error) {
	if len(spoolKey) != keySize {
		return nil, fmt.Errorf("spool key must be %d bytes, not %d", keySize, len(spoolKey))
	}
	w, err := newGCM(subkey(spoolKey, "wrap"))
	if err != nil {
		return nil, err
	}
	r, err := newGCM(subkey(spoolKey, "record"))
	if err != nil {
		return nil, err
	}
	return &cryptor{wrap: w, record: r, rand: rand}, nil
}

// sealRecord encrypts a job record.
func (c *cryptor) sealRecord(jobID string, plain []byte) ([]byte, error) {
	nonce := make([]byte, nonceSize, nonceSize+len(plain)+tagSize)
	if _, err := io.ReadFull(c.rand, nonce); err != nil {
		return nil, fmt.Errorf("random nonce: %w", err)
	}
	return c.record.Seal(nonce, nonce, plain, []byte("sealprint spool record\x00"+jobID)), nil
}

// openRecord decrypts a job record.
func (c *cryptor) openRecord(jobID string, sealed []byte) ([]byte, error) {
	if len(sealed) < nonceSize+tagSize {
		return nil, ErrCorrupt
	}
	p, err := c.record.Open(nil, sealed[:nonceSize], sealed[nonceSize:], []byte("sealprint spool record\x00"+jobID))
	if err != nil {
		return nil, ErrCorrupt
	}
	return p, nil
}

// encryptWriter is the STREAM writer. Close writes the last chunk; it does
// not close or sync the underlying writer.
type encryptWriter struct {
	w     io.Writer
	aead  cipher.AEAD
	buf   []byte // plaintext of the current chunk, sealed in place
	index uint64
	n     int64
	err   error
}

// newEncryptWriter writes the header to w and returns a writer that
// encrypts what it is given. The plaintext length is counted in Written.
func (c *cryptor) newEncryptWriter(w io.Writer, jobID, purpose string) (*encryptWriter, error) {
	fileKey := make([]byte, keySize)
	if _, err := io.ReadFull(c.rand, fileKey); err != nil {
		return nil, fmt.Errorf("random file key: %w", err)
	}
	hdr := make([]byte, 0, headerSize)
	hdr = append(hdr, fileMagic...)
	nonce := make([]byte, nonceSize)
	if _, err := io.ReadFull(c.rand, nonce); err != nil {
		return nil, fmt.Errorf("random nonce: %w", err)
	}
	hdr = append(hdr, nonce...)
	hdr = c.wrap.Seal(hdr, nonce, fileKey, fileAAD(jobID, purpose))
	aead, err := newGCM(fileKey)
	clear(fileKey)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(hdr); err != nil {
		return nil, err
	}
	return &encryptWriter{w: w, aead: aead, buf: make([]byte, 0, chunkSize+tagSize)}, nil
}

func chunkNonce(index uint64, last bool) []byte {
	n := make([]byte, nonceSize)
	binary.BigEndian.PutUint64(n, index)
	if last {
		n[nonceSize-1] = 1
	}
	return n
}

func (e *encryptWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	total := 0
	for len(p) > 0 {
		if len(e.buf) == chunkSize {
			// A full chunk is flushed only when more data follows, so that
			// the last chunk is never empty unless the whole file is.
			if err := e.flush(false); err != nil {
				return total, err
			}
		}
		k := min(chunkSize-len(e.buf), len(p))
		e.buf = append(e.buf, p[:k]...)
		p = p[k:]
		total += k
		e.n += int64(k)
	}
	return total, nil
}

func (e *encryptWriter) flush(last bool) error {
	// Sealed in place: the ciphertext overwrites the plaintext.
	sealed := e.aead.Seal(e.buf[:0], chunkNonce(e.index, last), e.buf, nil)
	e.buf = e.buf[:0]
	e.index++
	if _, err := e.w.Write(sealed); err != nil {
		e.err = err
		return err
	}
	return nil
}

// Written is the number of plaintext bytes written so far.
func (e *encryptWriter) Written() int64 { return e.n }

// Close seals the last chunk.
func (e *encryptWriter) Close() error {
	if e.err != nil {
		return e.err
	}
	err := e.flush(true)
	e.err = errors.New("spool file writer is closed")
	return err
}

// decryptReader is the STREAM reader. It returns ErrCorrupt on any
// authentication failure, including truncation, and never returns
// unauthenticated plaintext.
type decryptReader struct {
	r     *bufio.Reader
	aead  cipher.AEAD
	in    []byte
	plain []byte
	index uint64
	done  bool
	err   error
}

// newDecryptReader reads the header from r and returns a reader of the
// plaintext.
func (c *cryptor) newDecryptReader(r io.Reader, jobID, purpose string) (*decryptReader, error) {
	hdr := make([]byte, headerSize)
	if _, err := io.ReadFull(r, hdr); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrCorrupt
		}
		return nil, err
	}
	if string(hdr[:len(fileMagic)]) != fileMagic {
		return nil, ErrCorrupt
	}
	nonce := hdr[len(fileMagic) : len(fileMagic)+nonceSize]
	fileKey, err := c.wrap.Open(nil, nonce, hdr[len(fileMagic)+nonceSize:], fileAAD(jobID, purpose))
	if err != nil {
		return nil, ErrCorrupt
	}
	aead, err := newGCM(fileKey)
	clear(fileKey)
	if err != nil {
		return nil, err
	}
	return &decryptReader{r: bufio.NewReaderSize(r, chunkSize+tagSize+1), aead: aead, in: make([]byte, chunkSize+tagSize)}, nil
}

func (d *decryptReader) Read(p []byte) (int, error) {
	for len(d.plain) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		if d.done {
			return 0, io.EOF
		}
		d.err = d.next()
	}
	n := copy(p, d.plain)
	d.plain = d.plain[n:]
	return n, nil
}

// next reads and authenticates one chunk.
func (d *decryptReader) next() error {
	n, err := io.ReadFull(d.r, d.in)
	last := false
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		last = true
	case err != nil:
		return err
	default:
		if _, perr := d.r.Peek(1); perr == io.EOF {
			last = true
		} else if perr != nil {
			return perr
		}
	}
	if n < tagSize {
		return ErrCorrupt
	}
	plain, oerr := d.aead.Open(d.in[:0], chunkNonce(d.index, last), d.in[:n], nil)
	if oerr != nil {
		return ErrCorrupt
	}
	d.index++
	d.plain = plain
	d.done = last
	return nil
}
