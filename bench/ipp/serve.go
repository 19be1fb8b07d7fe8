package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/sealprint/sealprint/printer"
)

// serve runs the print service on addr until killed, with the stand-in
// spooler named by mode: "file" (one file per job, fsync each) or
// "discard" (no storage: the printer alone).
func serve(addr, dir, mode string) error {
	key := make([]byte, 32)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var sp printer.Spooler = &fileSpooler{dir: dir, aead: aead}
	switch mode {
	case "file":
	case "discard":
		sp = discardSpooler{}
	default:
		return fmt.Errorf("unknown stand-in spooler %q (file or discard)", mode)
	}
	s, err := printer.New(printer.Config{
		Listen: addr,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, sp)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Println("serving on", l.Addr())
	return s.Serve(ctx, l)
}

// fileSpooler is the benchmark's stand-in for the spooler: it encrypts each
// document with AES-256-GCM in 64 KiB chunks into its own file and fsyncs
// the file and the directory before acknowledging.
type fileSpooler struct {
	dir  string
	aead cipher.AEAD
}

func (f *fileSpooler) Accept(ctx context.Context, job printer.JobInfo, doc io.Reader) error {
	path := filepath.Join(f.dir, job.ID+".spool")
	out, err := os.OpenFile(path+".tmp", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(path + ".tmp")
	defer out.Close()
	buf := make([]byte, 64<<10)
	sealed := make([]byte, 0, len(buf)+f.aead.Overhead())
	nonce := make([]byte, f.aead.NonceSize())
	rand.Read(nonce[:4])
	for chunk := uint64(0); ; chunk++ {
		n, rerr := io.ReadFull(doc, buf)
		if n > 0 {
			binary.BigEndian.PutUint64(nonce[4:], chunk)
			sealed = f.aead.Seal(sealed[:0], nonce, buf[:n], []byte(job.ID))
			if _, err := out.Write(sealed); err != nil {
				return err
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if err := out.Sync(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return err
	}
	d, err := os.Open(f.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// discardSpooler reads and drops documents: it measures the print
// service alone (-spooler discard).
type discardSpooler struct{}

func (discardSpooler) Accept(ctx context.Context, job printer.JobInfo, doc io.Reader) error {
	_, err := io.Copy(io.Discard, doc)
	return err
}
