package spooler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// step runs the next step of job j (a snapshot taken when it was
// dispatched).
func (s *Spooler) step(ctx context.Context, id string, j *Job) {
	if s.awaitsReceipt(j) {
		s.poll(ctx, j)
		return
	}
	if j.State.Final() || (j.State == Failed && j.Permanent) {
		s.purge(id)
		return
	}
	stage := j.State
	if stage == Failed {
		stage = j.Stage
	}
	var err error
	switch stage {
	case Received:
		err = s.render(ctx, j)
	case Rendered:
		err = s.seal(ctx, j)
	case Held:
		err = s.expireHeld(j)
	case Sealed:
		err = s.upload(ctx, j)
	case Uploaded:
		s.poll(ctx, j)
	default:
		err = Permanent(fmt.Errorf("job %s has unknown stage %q", id, stage))
	}
	if err == nil || errors.Is(err, errSkip) {
		return
	}
	if ctx.Err() != nil {
		// Shutting down or canceled by the user: the step is redone (or
		// dropped) from the recorded state.
		s.log.Info("job step interrupted", "job", id, "stage", stage)
		return
	}
	s.fail(id, stage, err)
}

// commit records the outcome of a step, or, if the job changed meanwhile,
// tidies the files the step may have left.
func (s *Spooler) commit(id string, fn func(j *Job) error) error {
	j, from, err := s.update(id, fn)
	if errors.Is(err, errSkip) {
		s.dropArtifacts(j)
		return err
	}
	if err != nil {
		s.log.Error("cannot record job state", "job", id, "err", err)
		s.mu.Lock()
		if e, ok := s.jobs[id]; ok {
			e.notBefore = s.clock.Now().Add(s.opt.RetryMin)
		}
		s.mu.Unlock()
		return errSkip
	}
	if j.State == Failed {
		s.log.Warn("job state", "job", id, "from", from, "state", j.State, "stage", j.Stage,
			"attempts", j.Attempts, "permanent", j.Permanent, "next_retry", j.NextRetry, "err", j.Error)
	} else {
		s.log.Info("job state", "job", id, "from", from, "state", j.State)
	}
	s.emit(j, from)
	return nil
}

// fail records a failed step.
func (s *Spooler) fail(id string, stage State, cause error) {
	now := s.clock.Now()
	s.commit(id, func(j *Job) error {
		if err := at(j, stage); err != nil {
			return err
		}
		if IsConfirmation(cause) && j.State == Rendered {
			// Not a failure: the job waits, with what to confirm.
			j.Error = Clip(cause.Error(), 500)
			j.moveTo(Held, now, "waiting for a recipient's key to be confirmed")
			return nil
		}
		j.Attempts++
		j.Error = Clip(cause.Error(), 500)
		j.Permanent = IsPermanent(cause) || j.Attempts >= s.opt.MaxAttempts
		j.NextRetry = time.Time{}
		note := "will not retry"
		if !j.Permanent {
			j.NextRetry = now.Add(s.backoff(j.Attempts))
			note = fmt.Sprintf("attempt %d, retry at %s", j.Attempts, j.NextRetry.UTC().Format(time.RFC3339))
		}
		j.moveTo(Failed, now, note)
		return nil
	})
}

// render decrypts the document, renders it to PDF and stores the PDF
// encrypted.
func (s *Spooler) render(ctx context.Context, j *Job) error {
	start := time.Now()
	var done RenderResult
	pdfSum := sha256.New()
	err := s.st.create(j.ID, pdfFile, pdfFile, true, func(ew io.Writer) error {
		pdfSum.Reset()
		w := io.MultiWriter(ew, pdfSum)
		in, err := s.st.openEncrypted(j.ID, docFile, docFile)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrCorrupt) {
				return Permanent(err)
			}
			return err
		}
		defer in.Close()
		tr := &trackReader{r: in}
		done, err = s.opt.Renderer.Render(ctx, j, tr, w)
		if err != nil && errors.Is(tr.err, ErrCorrupt) {
			return Permanent(tr.err)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	s.log.Info("job rendered", "job", j.ID, "pages", done.Pages, "pdfa", done.PDFA, "duration", time.Since(start))
	now := s.clock.Now()
	return s.commit(j.ID, func(j *Job) error {
		if err := at(j, Received); err != nil {
			return err
		}
		j.Pages, j.PDFA = done.Pages, done.PDFA
		j.PDFSHA256 = hex.EncodeToString(pdfSum.Sum(nil))
		j.moveTo(Rendered, now, "")
		if len(j.Recipients) == 0 {
			j.moveTo(Held, now, "waiting for recipients")
		}
		return nil
	})
}

// seal signs and encrypts the rendered PDF into the sealed file.
func (s *Spooler) seal(ctx context.Context, j *Job) error {
	if len(j.Recipients) == 0 {
		now := s.clock.Now()
		return s.commit(j.ID, func(j *Job) error {
			if err := at(j, Rendered); err != nil {
				return err
			}
			j.moveTo(Held, now, "waiting for recipients")
			return nil
		})
	}
	start := time.Now()
	var size int64
	var sum string
	var sessionKey []byte
	var pdfSig string
	var keys []SealedKey
	err := s.st.create(j.ID, sealedFile, "", false, func(f io.Writer) error {
		in, err := s.st.openEncrypted(j.ID, pdfFile, pdfFile)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrCorrupt) {
				return Permanent(err)
			}
			return err
		}
		defer in.Close()
		h := sha256.New()
		cw := &countWriter{w: io.MultiWriter(f, h)}
		w, err := s.opt.Sealer.Seal(ctx, j, cw)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, &ctxReader{ctx, in}); err != nil {
			w.Close()
			if errors.Is(err, ErrCorrupt) {
				return Permanent(err)
			}
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		if sk, ok := w.(interface{ SessionKey() []byte }); ok {
			sessionKey = append([]byte(nil), sk.SessionKey()...)
		}
		if ps, ok := w.(interface{ PDFSignature() string }); ok {
			pdfSig = ps.PDFSignature()
		}
		if sk, ok := w.(interface{ SealedKeys() []SealedKey }); ok {
			keys = append([]SealedKey(nil), sk.SealedKeys()...)
		}
		size, sum = cw.n, hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	s.log.Info("job sealed", "job", j.ID, "recipients", len(j.Recipients), "bytes", size, "duration", time.Since(start))
	now := s.clock.Now()
	return s.commit(j.ID, func(j *Job) error {
		if err := at(j, Rendered); err != nil {
			return err
		}
		j.SealedSize, j.SealedSHA256, j.SessionKey, j.PDFSignature = size, sum, sessionKey, pdfSig
		j.SealedKeys = keys
		j.moveTo(Sealed, now, "")
		return nil
	})
}

// upload hands the sealed file to the relay.
func (s *Spooler) upload(ctx context.Context, j *Job) error {
	f, err := os.Open(s.st.path(j.ID, sealedFile))
	if err != nil {
		return Permanent(fmt.Errorf("upload: sealed file: %w", err))
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Size() != j.SealedSize {
		return Permanent(fmt.Errorf("upload: sealed file of job %s is damaged", j.ID))
	}
	start := time.Now()
	drop, err := s.opt.Deliverer.Deliver(ctx, Delivery{
		JobID: j.ID, Size: j.SealedSize, SHA256: j.SealedSHA256, Recipients: j.Recipients, SealedKeys: j.SealedKeys,
		Options: j.SendOptionsOf(), AccessCode: j.AccessCode, SessionKey: j.SessionKey,
	}, f)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	s.log.Info("job uploaded", "job", j.ID, "drop", drop.ID, "bytes", j.SealedSize, "duration", time.Since(start))
	now := s.clock.Now()
	err = s.commit(j.ID, func(j *Job) error {
		if err := at(j, Sealed); err != nil {
			return err
		}
		j.DropID, j.Link, j.DropExpires = drop.ID, drop.Link, drop.ExpiresAt
		j.CodeSentVia = drop.CodeSentVia
		j.NextCheck = now.Add(s.opt.PollInterval)
		j.moveTo(Uploaded, now, "")
		return nil
	})
	if errors.Is(err, errSkip) {
		if cur, gerr := s.Get(j.ID); gerr == nil && cur.State == Canceled {
			// Canceled while uploading: take the drop back.
			if rerr := s.opt.Deliverer.Revoke(context.WithoutCancel(ctx), drop.ID); rerr != nil {
				s.log.Warn("cannot revoke drop of canceled job", "job", j.ID, "drop", drop.ID, "err", rerr)
			}
		}
	}
	return err
}

// countWriter counts bytes written.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// trackReader remembers the error its reader returned.
type trackReader struct {
	r   io.Reader
	err error
}

func (t *trackReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}
