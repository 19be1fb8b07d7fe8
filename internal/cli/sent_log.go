package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sealprint/sealprint/internal/atomicfile"
	"github.com/sealprint/sealprint/relayapi"
)

// sentFile is the list of drops 'sealprint send' made, under the home
// directory: what 'sealprint replies' and 'open --reply' look through. It
// holds routing metadata only (ids, file names, recipients, dates), never
// a link secret or an access code.
const sentFile = "sent.json"

// Bounds of the sent list: entries are kept while a reply may still be
// fetched (replies live DefaultExpiry after they arrive, at most while the
// drop lives), and the file never grows past maxSentEntries.
const (
	maxSentEntries = 1000
	sentKeep       = 40 * 24 * time.Hour // after the drop expires
	maxSentFile    = 4 << 20
)

// sentDrop is one entry of the sent list.
type sentDrop struct {
	ID         string    `json:"id"`
	File       string    `json:"file"`
	Mode       string    `json:"mode"`
	Recipients []string  `json:"recipients"`
	SentAt     time.Time `json:"sent_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// readSent returns the sent list, oldest first ([] when there is none).
func readSent(home string) ([]sentDrop, error) {
	f, err := os.Open(filepath.Join(home, sentFile))
	if errors.Is(err, fs.ErrNotExist) {
		return []sentDrop{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSentFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSentFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", sentFile, maxSentFile)
	}
	var list []sentDrop
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("read %s: %w", sentFile, err)
	}
	return slices.DeleteFunc(list, func(d sentDrop) bool { return !relayapi.ValidDropID(d.ID) }), nil
}

// recordSent adds d to the sent list, dropping entries long expired and
// the oldest beyond maxSentEntries. The file is replaced atomically.
func recordSent(home string, d sentDrop, now time.Time) error {
	list, err := readSent(home)
	if err != nil {
		list = nil // a damaged list is replaced: it only helps find replies
	}
	list = slices.DeleteFunc(list, func(o sentDrop) bool {
		return o.ID == d.ID || (!o.ExpiresAt.IsZero() && now.After(o.ExpiresAt.Add(sentKeep)))
	})
	list = append(list, d)
	if len(list) > maxSentEntries {
		list = list[len(list)-maxSentEntries:]
	}
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(home, sentFile), append(b, '\n'), 0o600)
}
