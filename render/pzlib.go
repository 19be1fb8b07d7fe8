package render

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/adler32"
	"io"
	"runtime"
	"sync"
)

// pzChunk is how much uncompressed data each worker compresses at a time.
const pzChunk = 512 << 10

// pzWriter writes a zlib stream (RFC 1950, as PDF's FlateDecode wants),
// compressing chunks on all CPUs: each chunk is deflated on its own and
// ends with a sync flush so the pieces concatenate into one valid stream;
// their Adler-32 checksums are combined. Chunks are written in order, and
// at most a few are in flight, so memory stays bounded.
type pzWriter struct {
	w       io.Writer
	level   int
	buf     []byte
	pending []chan pzResult
	adler   uint32
	started bool
	err     error
}

type pzResult struct {
	data  *bytes.Buffer
	adler uint32
	n     int
	err   error
}

var (
	pzBufs    = sync.Pool{New: func() any { return make([]byte, 0, pzChunk) }}
	pzOuts    = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	pzFlaters sync.Map // level → *sync.Pool of *flate.Writer
)

func newPZWriter(w io.Writer, level int) *pzWriter {
	return &pzWriter{w: w, level: level, adler: 1, buf: pzBufs.Get().([]byte)[:0]}
}

func (z *pzWriter) Write(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	n := len(p)
	for len(p) > 0 {
		m := copy(z.buf[len(z.buf):cap(z.buf)], p)
		z.buf = z.buf[:len(z.buf)+m]
		p = p[m:]
		if len(z.buf) == cap(z.buf) {
			z.submit()
			if z.err != nil {
				return 0, z.err
			}
		}
	}
	return n, nil
}

// submit hands the current chunk to a worker, first writing out finished
// chunks when too many are in flight.
func (z *pzWriter) submit() {
	if len(z.buf) == 0 {
		return
	}
	for len(z.pending) >= 2*runtime.GOMAXPROCS(0) {
		z.writeOldest()
	}
	ch := make(chan pzResult, 1)
	z.pending = append(z.pending, ch)
	go compressChunk(z.buf, z.level, ch)
	z.buf = pzBufs.Get().([]byte)[:0]
}

func compressChunk(data []byte, level int, ch chan<- pzResult) {
	out := pzOuts.Get().(*bytes.Buffer)
	out.Reset()
	p, _ := pzFlaters.LoadOrStore(level, &sync.Pool{})
	pool := p.(*sync.Pool)
	fw, _ := pool.Get().(*flate.Writer)
	var err error
	if fw == nil {
		fw, err = flate.NewWriter(out, level)
	} else {
		fw.Reset(out)
	}
	if err == nil {
		_, err = fw.Write(data)
	}
	if err == nil {
		err = fw.Flush()
	}
	if fw != nil {
		pool.Put(fw)
	}
	res := pzResult{data: out, adler: adler32.Checksum(data), n: len(data), err: err}
	//lint:ignore SA6002 the pool holds slices by value on purpose: the one small header allocation per Put is cheaper than keeping a pointer per buffer
	pzBufs.Put(data[:0])
	ch <- res
}

// writeOldest waits for the oldest chunk in flight and writes it.
func (z *pzWriter) writeOldest() {
	res := <-z.pending[0]
	z.pending = z.pending[1:]
	if z.err != nil {
		pzOuts.Put(res.data)
		return
	}
	if res.err != nil {
		z.err = res.err
		pzOuts.Put(res.data)
		return
	}
	if !z.started {
		// CMF: deflate, 32 KiB window; FLG: fastest, check bits.
		if _, z.err = z.w.Write([]byte{0x78, 0x01}); z.err != nil {
			return
		}
		z.started = true
	}
	_, z.err = z.w.Write(res.data.Bytes())
	z.adler = adler32Combine(z.adler, res.adler, res.n)
	pzOuts.Put(res.data)
}

// Close writes the remaining data, the final block and the checksum.
func (z *pzWriter) Close() error {
	z.submit()
	for len(z.pending) > 0 {
		z.writeOldest()
	}
	if z.err != nil {
		return z.err
	}
	if !z.started {
		if _, z.err = z.w.Write([]byte{0x78, 0x01}); z.err != nil {
			return z.err
		}
	}
	// An empty final block with fixed codes, then Adler-32 big-endian.
	var tail [6]byte
	tail[0], tail[1] = 0x03, 0x00
	binary.BigEndian.PutUint32(tail[2:], z.adler)
	_, z.err = z.w.Write(tail[:])
	return z.err
}

// adler32Combine returns the Adler-32 of A‖B from those of A and of B,
// where B is n bytes long.
func adler32Combine(a, b uint32, n int) uint32 {
	const base = 65521
	rem := uint32(n % base)
	s1 := a & 0xffff
	s2 := (rem * s1) % base
	s1 += (b & 0xffff) + base - 1
	s2 += (a >> 16) + (b >> 16) + base - rem
	if s1 >= base {
		s1 -= base
	}
	if s1 >= base {
		s1 -= base
	}
	if s2 >= 2*base {
		s2 -= 2 * base
	}
	if s2 >= base {
		s2 -= base
	}
	return s2<<16 | s1
}
