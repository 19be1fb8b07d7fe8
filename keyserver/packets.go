package keyserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// OpenPGP packet tags the directory deals with (RFC 9580 §5).
const (
	tagSignature     = 2
	tagSecretKey     = 5
	tagPublicKey     = 6
	tagSecretSubkey  = 7
	tagMarker        = 10
	tagTrust         = 12
	tagUserID        = 13
	tagPublicSubkey  = 14
	tagUserAttribute = 17
	tagPadding       = 21
)

// maxPacketLen bounds one packet; no legitimate key packet comes close.
const maxPacketLen = 64 << 10

// rawPacket is one packet exactly as framed on the wire: its tag and body.
type rawPacket struct {
	tag  int
	body []byte
}

// errFraming reports a malformed packet stream.
var errFraming = errors.New("malformed OpenPGP packet framing")

// readRawPackets splits a binary OpenPGP stream into packets without
// interpreting them. It refuses partial and indeterminate lengths (never
// valid in keys), packets above maxPacketLen, and more than maxPackets
// packets, so that nothing larger than that is ever buffered.
func readRawPackets(r io.Reader, maxPackets int) ([]rawPacket, error) {
	br := bufio.NewReader(r)
	var out []rawPacket
	for {
		first, err := br.ReadByte()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if first&0x80 == 0 {
			return nil, fmt.Errorf("%w: bad packet header", errFraming)
		}
		var tag int
		var length int
		if first&0x40 != 0 { // new format
			tag = int(first & 0x3f)
			length, err = readNewLength(br)
		} else { // old format
			tag = int(first&0x3f) >> 2
			length, err = readOldLength(br, first&3)
		}
		if err != nil {
			return nil, err
		}
		if length > maxPacketLen {
			return nil, tooLarge("packet of more than %d bytes", maxPacketLen)
		}
		if len(out) >= maxPackets {
			return nil, errTooManyPackets
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(br, body); err != nil {
			return nil, fmt.Errorf("%w: truncated packet", errFraming)
		}
		out = append(out, rawPacket{tag: tag, body: body})
	}
}

func readNewLength(br *bufio.Reader) (int, error) {
	b0, err := br.ReadByte()
	if err != nil {
		return 0, fmt.Errorf("%w: truncated header", errFraming)
	}
	switch {
	case b0 < 192:
		return int(b0), nil
	case b0 < 224:
		b1, err := br.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("%w: truncated header", errFraming)
		}
		return (int(b0)-192)<<8 + int(b1) + 192, nil
	case b0 == 255:
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, fmt.Errorf("%w: truncated header", errFraming)
		}
		n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if n > maxPacketLen {
			return maxPacketLen + 1, nil
		}
		return int(n), nil
	default:
		return 0, fmt.Errorf("%w: partial body length in a key", errFraming)
	}
}

func readOldLength(br *bufio.Reader, lenType byte) (int, error) {
	size := map[byte]int{0: 1, 1: 2, 2: 4}[lenType]
	if lenType == 3 {
		return 0, fmt.Errorf("%w: indeterminate length in a key", errFraming)
	}
	var n uint64
	for i := 0; i < size; i++ {
		b, err := br.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("%w: truncated header", errFraming)
		}
		n = n<<8 | uint64(b)
	}
	if n > maxPacketLen {
		return maxPacketLen + 1, nil
	}
	return int(n), nil
}

// writePacket writes p in new-format framing.
func writePacket(w io.Writer, p rawPacket) error {
	hdr := []byte{0xc0 | byte(p.tag)}
	n := len(p.body)
	switch {
	case n < 192:
		hdr = append(hdr, byte(n))
	case n < 8384:
		n -= 192
		hdr = append(hdr, byte(n>>8)+192, byte(n))
	default:
		hdr = append(hdr, 255, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err := w.Write(p.body)
	return err
}

// bytes returns the packet framed in new format.
func (p rawPacket) bytes() []byte {
	var b sliceWriter
	_ = writePacket(&b, p)
	return b
}

type sliceWriter []byte

func (s *sliceWriter) Write(p []byte) (int, error) {
	*s = append(*s, p...)
	return len(p), nil
}
