package printer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
)

// rawAttr encodes one attribute with explicit lengths.
func rawAttr(tag byte, name string, value []byte) []byte {
	var b bytes.Buffer
	b.WriteByte(tag)
	binary.Write(&b, binary.BigEndian, uint16(len(name)))
	b.WriteString(name)
	binary.Write(&b, binary.BigEndian, uint16(len(value)))
	b.Write(value)
	return b.Bytes()
}

// rawHeader is a valid Get-Printer-Attributes request up to (without)
// the end tag.
func rawHeader(addr string, version uint16) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, version)
	binary.Write(&b, binary.BigEndian, uint16(goipp.OpGetPrinterAttributes))
	binary.Write(&b, binary.BigEndian, uint32(7))
	b.WriteByte(0x01)
	b.Write(rawAttr(0x47, "attributes-charset", []byte("utf-8")))
	b.Write(rawAttr(0x48, "attributes-natural-language", []byte("en")))
	b.Write(rawAttr(0x45, "printer-uri", []byte(QueueURI(addr, DefaultQueue))))
	return b.Bytes()
}

// rawPost sends body over a fresh connection and returns the IPP status,
// or -1 if the server closed the connection without an IPP answer.
func rawPost(t *testing.T, addr string, body []byte, contentLength int64) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "POST /ipp/print/sealed HTTP/1.1\r\nHost: %s\r\nContent-Type: application/ipp\r\nContent-Length: %d\r\n\r\n", addr, contentLength)
	go func() {
		conn.Write(body)
		if pad := contentLength - int64(len(body)); pad > 0 {
			io.CopyN(conn, zeroReader{}, pad)
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return resp.StatusCode
	}
	var m goipp.Message
	if err := m.Decode(resp.Body); err != nil {
		return -1
	}
	return int(m.Code)
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestMalformedRequests sends broken requests; each gets an error answer
// or a closed connection, and the service keeps answering.
func TestMalformedRequests(t *testing.T) {
	sp := &memSpooler{}
	_, addr := startServer(t, sp, Config{MaxDocumentBytes: 1 << 20})
	hdr := rawHeader(addr, 0x0200)
	many := append([]byte{}, hdr...)
	for i := 0; i < 10000; i++ {
		many = append(many, rawAttr(0x44, fmt.Sprintf("x-attr-%d", i), []byte("v"))...)
	}
	many = append(many, 0x03)
	manyValues := append([]byte{}, hdr...)
	manyValues = append(manyValues, rawAttr(0x44, "requested-attributes", []byte("all"))...)
	for i := 0; i < 10000; i++ {
		manyValues = append(manyValues, rawAttr(0x44, "", []byte("all"))...)
	}
	manyValues = append(manyValues, 0x03)
	bigValue := append(append([]byte{}, hdr...), 0x41, 0, 4, 'n', 'a', 'm', 'e', 0x80, 0x00)
	bigValue = append(bigValue, bytes.Repeat([]byte("A"), 0x8000)...)
	bigValue = append(bigValue, 0x03)
	hugeLen := append(append([]byte{}, hdr...), 0x41, 0, 4, 'n', 'a', 'm', 'e', 0xff, 0xff, 'x')
	var nested []byte
	nested = append(nested, hdr...)
	nested = append(nested, 0x02)
	nested = append(nested, rawAttr(0x34, "media-col", nil)...)
	for i := 0; i < 20000; i++ {
		nested = append(nested, rawAttr(0x4a, "", []byte("m"))...)
		nested = append(nested, rawAttr(0x34, "", nil)...)
	}
	print := goipp.NewRequest(goipp.MakeVersion(2, 0), goipp.OpPrintJob, 9)
	print.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	print.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	print.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(QueueURI(addr, DefaultQueue))))
	print.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String("application/pdf")))
	printHdr, _ := print.EncodeBytes()

	cases := []struct {
		name   string
		body   []byte
		length int64 // Content-Length; 0 means len(body)
		want   []int // acceptable answers; -1 is a closed connection
	}{
		{"empty", nil, 0, []int{int(goipp.StatusErrorBadRequest), -1}},
		{"truncated header", hdr[:5], 0, []int{int(goipp.StatusErrorBadRequest), -1}},
		{"truncated attribute", hdr[:len(hdr)-3], 0, []int{int(goipp.StatusErrorBadRequest), -1}},
		{"no end tag", hdr, 0, []int{int(goipp.StatusErrorBadRequest), -1}},
		{"name length past end", append(append([]byte{}, hdr...), 0x44, 0x7f, 0xff, 'a'), 0, []int{int(goipp.StatusErrorBadRequest), -1}},
		{"value length 0x8000", bigValue, 0, []int{int(goipp.StatusOk), int(goipp.StatusErrorBadRequest)}},
		{"value length 0xffff truncated", hugeLen, 0, []int{int(goipp.StatusErrorBadRequest), -1}},
		{"unknown value tag", append(append(append([]byte{}, hdr...), rawAttr(0x2f, "x-unknown", []byte{1, 2, 3})...), 0x03), 0, []int{int(goipp.StatusOk), int(goipp.StatusErrorBadRequest)}},
		{"unknown group tag", append(append([]byte{}, hdr...), 0x0e, 0x03), 0, []int{int(goipp.StatusOk), int(goipp.StatusErrorBadRequest)}},
		{"tag zero", append(append([]byte{}, hdr...), 0x00, 0x03), 0, []int{int(goipp.StatusErrorBadRequest), -1}},
		{"extension tag", append(append(append([]byte{}, hdr...), rawAttr(0x7f, "x", []byte{0xff, 0xff, 0xff, 0xff})...), 0x03), 0, []int{int(goipp.StatusErrorBadRequest), -1}},
		{"member without collection", append(append(append([]byte{}, hdr...), rawAttr(0x4a, "", []byte("m"))...), 0x03), 0, []int{int(goipp.StatusErrorBadRequest), -1}},
		{"10k attributes", many, 0, []int{int(goipp.StatusErrorRequestEntity), int(goipp.StatusErrorBadRequest), -1}},
		{"10k values", manyValues, 0, []int{int(goipp.StatusErrorRequestEntity), int(goipp.StatusErrorBadRequest), -1}},
		{"deep collections", nested, 0, []int{int(goipp.StatusErrorBadRequest), int(goipp.StatusErrorRequestEntity), -1}},
		{"version 0.0", append(rawHeader(addr, 0x0000), 0x03), 0, []int{int(goipp.StatusErrorVersionNotSupported)}},
		{"version 9.9", append(rawHeader(addr, 0x0909), 0x03), 0, []int{int(goipp.StatusErrorVersionNotSupported)}},
		{"attributes over limit", append(append([]byte{}, hdr...), bytes.Repeat(rawAttr(0x44, "x", bytes.Repeat([]byte("v"), 60000)), 6)...), 0, []int{int(goipp.StatusErrorBadRequest), -1}},
		{"huge document", append(append([]byte{}, printHdr...), samplePDF...), 40 << 20, []int{int(goipp.StatusErrorRequestEntity), -1}},
		{"huge document past drain", append(append([]byte{}, printHdr...), samplePDF...), 200 << 20, []int{int(goipp.StatusErrorRequestEntity), -1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := c.length
			if n == 0 {
				n = int64(len(c.body))
			}
			got := rawPost(t, addr, c.body, n)
			ok := false
			for _, w := range c.want {
				ok = ok || got == w
			}
			if !ok {
				t.Errorf("answer %#x, want one of %#x", got, c.want)
			}
			// The service still answers.
			wantStatus(t, call(t, addr, DefaultQueue, newReq(goipp.OpGetPrinterAttributes, addr, DefaultQueue, ""), nil), goipp.StatusOk)
		})
	}
	if jobs, _ := sp.accepted(); len(jobs) != 0 {
		t.Errorf("malformed requests created %d jobs", len(jobs))
	}
}

// TestWrongContentType refuses non-IPP bodies at the HTTP level.
func TestWrongContentType(t *testing.T) {
	_, addr := startServer(t, &memSpooler{}, Config{})
	resp, err := http.Post("http://"+addr+"/ipp/print/sealed", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("HTTP %d", resp.StatusCode)
	}
}

// TestSlowClientDoesNotBlock keeps one request half-sent while another
// client prints.
func TestSlowClientDoesNotBlock(t *testing.T) {
	sp := &memSpooler{}
	_, addr := startServer(t, sp, Config{})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /ipp/print/sealed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/ipp\r\nContent-Length: 100000\r\n\r\n")
	conn.Write(rawHeader(addr, 0x0200)[:20])
	wantStatus(t, printJob(t, addr, DefaultQueue, "alice", "application/pdf", samplePDF), goipp.StatusOk)
}

// TestIdleClientDropped closes a connection that stops sending mid-request.
func TestIdleClientDropped(t *testing.T) {
	_, addr := startServer(t, &memSpooler{}, Config{ReadIdleTimeout: 200 * time.Millisecond})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /ipp/print/sealed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/ipp\r\nContent-Length: 100000\r\n\r\n")
	conn.Write(rawHeader(addr, 0x0200)[:20])
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	// The server answers (bad request) and closes, or just closes.
	_, err = io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Error("idle connection still open")
	}
}
