package main

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/sealprint/sealprint/printer"
)

// groupSpooler is a stand-in spooler with group commit: every job's
// AES-256-GCM chunks are appended to one log file, and one fsync covers
// every job whose last chunk was written before it started. A job is
// acknowledged only after such an fsync.
type groupSpooler struct {
	aead cipher.AEAD

	mu      sync.Mutex // guards f writes and the counters
	cond    *sync.Cond
	f       *os.File
	written uint64 // jobs fully written
	synced  uint64 // jobs covered by a completed fsync
	syncing bool
	err     error
}

func newGroupSpooler(dir string, aead cipher.AEAD) (*groupSpooler, error) {
	f, err := os.OpenFile(filepath.Join(dir, "spool.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return nil, err
	}
	g := &groupSpooler{aead: aead, f: f}
	g.cond = sync.NewCond(&g.mu)
	return g, nil
}

func (g *groupSpooler) Accept(ctx context.Context, job printer.JobInfo, doc io.Reader) error {
	id := sha256.Sum256([]byte(job.ID))
	buf := make([]byte, 64<<10)
	rec := make([]byte, 0, 16+12+4+len(buf)+g.aead.Overhead())
	nonce := make([]byte, g.aead.NonceSize())
	rand.Read(nonce[:4])
	for chunk := uint64(0); ; chunk++ {
		n, rerr := io.ReadFull(doc, buf)
		last := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !last {
			return rerr
		}
		binary.BigEndian.PutUint64(nonce[4:], chunk)
		// Record: job id hash, nonce, length (top bit: last chunk), sealed chunk.
		rec = append(rec[:0], id[:16]...)
		rec = append(rec, nonce...)
		l := uint32(n + g.aead.Overhead())
		if last {
			l |= 1 << 31
		}
		rec = binary.BigEndian.AppendUint32(rec, l)
		rec = g.aead.Seal(rec, nonce, buf[:n], id[:])
		g.mu.Lock()
		_, err := g.f.Write(rec)
		if err == nil && last {
			g.written++
		}
		target := g.written
		g.mu.Unlock()
		if err != nil {
			return err
		}
		if last {
			return g.commit(target)
		}
	}
}

// commit returns once an fsync covering the first target jobs completed.
func (g *groupSpooler) commit(target uint64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.synced < target {
		if g.err != nil {
			return g.err
		}
		if g.syncing {
			g.cond.Wait()
			continue
		}
		g.syncing = true
		upto := g.written
		g.mu.Unlock()
		err := g.f.Sync()
		g.mu.Lock()
		g.syncing = false
		if err != nil {
			g.err = fmt.Errorf("sync spool log: %w", err)
		} else {
			g.synced = upto
		}
		g.cond.Broadcast()
	}
	return nil
}
