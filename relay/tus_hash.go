package relay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"

	tushandler "github.com/tus/tusd/v2/pkg/handler"
)

// An upload's SHA-256 is computed over the bytes as the tus store writes
// them, so that completing it needs no second read of the whole upload
// (in S3 mode: no second transfer from the bucket). The hash state is
// saved after every PATCH with the offset it covers, where the upload's
// bookkeeping lives (a file next to the upload; an object in the bucket),
// so that a PATCH on another replica or after a restart continues it. A
// state that does not cover exactly the upload's bytes so far is never
// used: the upload is then read back at completion, as before.

// hashStates keeps the saved hash state of uploads by drop id.
type hashStates interface {
	// loadHash returns the saved record, or nil if there is none.
	loadHash(ctx context.Context, id string) ([]byte, error)
	// saveHash replaces the saved record.
	saveHash(ctx context.Context, id string, rec []byte) error
	// dropHash deletes the saved record; a missing one is not an error.
	dropHash(ctx context.Context, id string) error
	// settle makes the upload's bytes written so far durable, before a
	// state covering them is saved: a state that outlives a crash must
	// never cover bytes the crash lost.
	settle(ctx context.Context, id string) error
}

// hashRecordMagic starts a saved hash state (version 1).
const hashRecordMagic = "sealrelay-sha256-1\n"

// maxHashRecord bounds a saved record (a SHA-256 state is about 110 bytes).
const maxHashRecord = 1 << 10

// encodeHashState is a saved record: magic, the offset covered (8 bytes,
// big endian), the marshalled SHA-256 state, and the SHA-256 of all that
// (a torn or altered record is then refused, not misread).
func encodeHashState(offset int64, h hash.Hash) ([]byte, error) {
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return nil, err
	}
	rec := append([]byte(hashRecordMagic), binary.BigEndian.AppendUint64(nil, uint64(offset))...)
	rec = append(rec, state...)
	sum := sha256.Sum256(rec)
	return append(rec, sum[:]...), nil
}

// decodeHashState parses a saved record; ok is false for anything but a
// whole, well-formed one.
func decodeHashState(rec []byte) (offset int64, h hash.Hash, ok bool) {
	head := len(hashRecordMagic) + 8
	if len(rec) > maxHashRecord || len(rec) < head+sha256.Size || !bytes.HasPrefix(rec, []byte(hashRecordMagic)) {
		return 0, nil, false
	}
	body, sum := rec[:len(rec)-sha256.Size], rec[len(rec)-sha256.Size:]
	if want := sha256.Sum256(body); !bytes.Equal(sum, want[:]) {
		return 0, nil, false
	}
	off := binary.BigEndian.Uint64(body[len(hashRecordMagic):head])
	if off > 1<<62 {
		return 0, nil, false
	}
	h = sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(body[head:]); err != nil {
		return 0, nil, false
	}
	return int64(off), h, true
}

// hashingStore wraps a tus store so that every chunk written is hashed
// and the state saved with the upload's new offset.
type hashingStore struct {
	tushandler.DataStore
	states hashStates
	// dropID maps a tus upload id to its drop id.
	dropID func(tid string) string
	log    *slog.Logger
}

func (s *hashingStore) NewUpload(ctx context.Context, info tushandler.FileInfo) (tushandler.Upload, error) {
	// A state left by an earlier upload of the same drop (refused, or
	// removed with an error) must not meet this one.
	id := s.dropID(info.ID)
	if err := s.states.dropHash(ctx, id); err != nil {
		return nil, fmt.Errorf("delete stale upload hash state: %w", err)
	}
	u, err := s.DataStore.NewUpload(ctx, info)
	if err != nil {
		return nil, err
	}
	return &hashingUpload{Upload: u, s: s, id: id}, nil
}

func (s *hashingStore) GetUpload(ctx context.Context, id string) (tushandler.Upload, error) {
	u, err := s.DataStore.GetUpload(ctx, id)
	if err != nil {
		return nil, err
	}
	return &hashingUpload{Upload: u, s: s, id: s.dropID(id)}, nil
}

// inner returns the store's own upload under a hashingUpload (for the
// store's extensions, which expect their own type).
func innerUpload(u tushandler.Upload) tushandler.Upload {
	if h, ok := u.(*hashingUpload); ok {
		return h.Upload
	}
	return u
}

type hashingUpload struct {
	tushandler.Upload
	s  *hashingStore
	id string
}

// WriteChunk writes the chunk through the store, hashing what the store
// reads, and saves the state if the store took exactly those bytes.
func (u *hashingUpload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	h, err := u.resume(ctx, offset)
	if err != nil {
		u.s.log.WarnContext(ctx, "upload hash state unreadable: the upload will be read back", "drop", u.id, "err", err)
	}
	if h == nil {
		return u.Upload.WriteChunk(ctx, offset, src)
	}
	hr := &hashingReader{r: src, h: h}
	n, err := u.Upload.WriteChunk(ctx, offset, hr)
	if hr.n != n {
		// The store read bytes it did not keep: the state covers more
		// than the upload holds.
		u.forget(ctx)
		return n, err
	}
	if serr := u.save(ctx, offset+n, h); serr != nil {
		u.forget(ctx)
		if err == nil && errors.Is(serr, errSettle) {
			err = serr
		}
		if !errors.Is(serr, errSettle) {
			u.s.log.WarnContext(ctx, "save upload hash state: the upload will be read back", "drop", u.id, "err", serr)
		}
	}
	return n, err
}

// errSettle marks a failure to make an upload's bytes durable.
var errSettle = errors.New("sync upload")

// resume returns the hash of the upload's first offset bytes: a new one
// at offset 0, the saved state if it covers exactly offset bytes, else
// nil (and the stale state is deleted).
func (u *hashingUpload) resume(ctx context.Context, offset int64) (hash.Hash, error) {
	if offset == 0 {
		return sha256.New(), nil
	}
	rec, err := u.s.states.loadHash(ctx, u.id)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, nil
	}
	if off, h, ok := decodeHashState(rec); ok && off == offset {
		return h, nil
	}
	u.forget(ctx)
	return nil, nil
}

func (u *hashingUpload) save(ctx context.Context, offset int64, h hash.Hash) error {
	rec, err := encodeHashState(offset, h)
	if err != nil {
		return err
	}
	if err := u.s.states.settle(ctx, u.id); err != nil {
		return fmt.Errorf("%w: %w", errSettle, err)
	}
	return u.s.states.saveHash(ctx, u.id, rec)
}

func (u *hashingUpload) forget(ctx context.Context) {
	if err := u.s.states.dropHash(ctx, u.id); err != nil {
		u.s.log.WarnContext(ctx, "delete upload hash state", "drop", u.id, "err", err)
	}
}

// hashingReader hashes what is read through it and counts it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (r *hashingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	return n, err
}

// savedSum returns the hex SHA-256 of the first size bytes of the upload
// of drop id and that size, from its saved state; ok is false when there
// is none.
func savedSum(ctx context.Context, states hashStates, id string) (size int64, sum string, ok bool) {
	rec, err := states.loadHash(ctx, id)
	if err != nil || rec == nil {
		return 0, "", false
	}
	off, h, ok := decodeHashState(rec)
	if !ok {
		return 0, "", false
	}
	return off, hex.EncodeToString(h.Sum(nil)), true
}
