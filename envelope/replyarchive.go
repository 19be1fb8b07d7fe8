package envelope

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// A secure reply's plaintext is a ustar archive: first the manifest entry
// ReplyManifestName (JSON: the message and the file names, in order), then
// one regular file per attachment. The recipient's page writes it
// (web/recipient/static/replyarchive.js); 'sealprint open --reply' reads
// it with ReadReplyArchive.

// Reply archive limits.
const (
	ReplyManifestName = ".sealprint-reply.json"
	MaxReplyFiles     = 20
	MaxReplyMessage   = 10000 // characters
	maxManifest       = 256 << 10
)

// ReplyManifest is the first entry of a reply archive.
type ReplyManifest struct {
	Version int      `json:"version"`
	Message string   `json:"message,omitempty"`
	Files   []string `json:"files"`
}

// ReplyFile is one attachment of a reply archive.
type ReplyFile struct {
	Name string
	Data io.Reader
	Size int64
}

// ErrReplyArchive marks a reply archive that breaks the format.
var ErrReplyArchive = errors.New("not a valid reply archive")

func archiveErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrReplyArchive, fmt.Sprintf(format, a...))
}

// ReadReplyArchive reads a reply archive from r: it checks the manifest,
// then calls file for each attachment in order, with a name safe to create
// in a directory on any system (SafeReplyName of the archived name) and a
// reader of exactly size bytes. Entries other than the manifest's files,
// in its order, are refused.
func ReadReplyArchive(r io.Reader, file func(name string, size int64, r io.Reader) error) (*ReplyManifest, error) {
	tr := tar.NewReader(r)
	h, err := tr.Next()
	if err != nil {
		return nil, archiveErr("no manifest: %v", err)
	}
	if h.Name != ReplyManifestName || !regular(h) || h.Size > maxManifest {
		return nil, archiveErr("the first entry must be %s", ReplyManifestName)
	}
	var m ReplyManifest
	dec := json.NewDecoder(io.LimitReader(tr, maxManifest))
	if err := dec.Decode(&m); err != nil {
		return nil, archiveErr("manifest: %v", err)
	}
	if m.Version != 1 {
		return nil, archiveErr("manifest version %d", m.Version)
	}
	if len(m.Files) > MaxReplyFiles {
		return nil, archiveErr("%d files (at most %d)", len(m.Files), MaxReplyFiles)
	}
	if !utf8.ValidString(m.Message) || utf8.RuneCountInString(m.Message) > MaxReplyMessage {
		return nil, archiveErr("message too long or not UTF-8")
	}
	seen := map[string]bool{}
	for _, name := range m.Files {
		h, err := tr.Next()
		if err != nil {
			return nil, archiveErr("file %q missing: %v", name, err)
		}
		if h.Name != name || !regular(h) || h.Size < 0 {
			return nil, archiveErr("entry %q is not the file %q of the manifest", h.Name, name)
		}
		safe := SafeReplyName(name)
		if safe == "" || seen[strings.ToLower(safe)] {
			return nil, archiveErr("file name %q unusable or repeated", name)
		}
		seen[strings.ToLower(safe)] = true
		lr := &io.LimitedReader{R: tr, N: h.Size}
		if err := file(safe, h.Size, lr); err != nil {
			return nil, err
		}
		if lr.N != 0 {
			if _, err := io.Copy(io.Discard, lr); err != nil {
				return nil, archiveErr("file %q: %v", name, err)
			}
		}
	}
	if h, err := tr.Next(); err != io.EOF {
		if err == nil {
			return nil, archiveErr("entry %q is not in the manifest", h.Name)
		}
		return nil, archiveErr("after the files: %v", err)
	}
	return &m, nil
}

func regular(h *tar.Header) bool {
	// Old writers mark a regular file '\x00' (the deprecated TypeRegA).
	return h.Typeflag == tar.TypeReg || h.Typeflag == '\x00'
}

// windowsReserved are device names Windows refuses as file names.
var windowsReserved = map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true}

// SafeReplyName returns name as a plain file name any system can create in
// a directory: no directory part, no control or reserved characters
// (replaced by "_"), no leading dot, no trailing dot or space, not a
// Windows device name, at most 200 bytes; "" when nothing is left.
func SafeReplyName(name string) string {
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "_")
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == '/' || r == '\\' || r == ':' || r == '*' || r == '?' || r == '"' || r == '<' || r == '>' || r == '|':
			b.WriteRune('_')
		case unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Cf, r):
			b.WriteRune('_')
		default:
			b.WriteRune(r)
		}
	}
	s := strings.TrimRight(strings.TrimLeft(b.String(), ". "), ". ")
	for len(s) > 200 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	stem, _, _ := strings.Cut(s, ".")
	if windowsReserved[strings.ToUpper(strings.TrimSpace(stem))] {
		s = "_" + s
	}
	return s
}

// WriteReplyArchive writes a reply archive of message and files to w (the
// page's format; for tests and tools).
func WriteReplyArchive(w io.Writer, message string, files []ReplyFile) error {
	if len(files) > MaxReplyFiles {
		return fmt.Errorf("reply archive: at most %d files", MaxReplyFiles)
	}
	m := ReplyManifest{Version: 1, Message: message, Files: []string{}}
	for _, f := range files {
		m.Files = append(m.Files, f.Name)
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	now := time.Now().Truncate(time.Second)
	put := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: now}); err != nil {
			return fmt.Errorf("reply archive: %s: %w", name, err)
		}
		_, err := io.Copy(tw, r)
		return err
	}
	if err := put(ReplyManifestName, int64(len(mb)), strings.NewReader(string(mb))); err != nil {
		return err
	}
	for _, f := range files {
		if err := put(f.Name, f.Size, f.Data); err != nil {
			return err
		}
	}
	return tw.Close()
}
