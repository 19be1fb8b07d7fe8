package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/sealprint/sealprint/relayapi"
)

// Send creates the drop (idempotent when req.IdempotencyKey is set),
// uploads body (size = req.Size) and completes the drop. If req.SHA256 is
// empty it is computed from body first. An existing ready drop is returned
// as is. progress may be nil.
func (c *Client) Send(ctx context.Context, req relayapi.CreateDropRequest, body io.ReaderAt, progress func(sent, total int64)) (*Drop, error) {
	if req.SHA256 == "" {
		sum, err := SHA256(body, req.Size)
		if err != nil {
			return nil, fmt.Errorf("hash ciphertext: %w", err)
		}
		req.SHA256 = sum
	}
	var d *Drop
	err := c.retryCall(ctx, func() error {
		var err error
		d, err = c.CreateDrop(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	if d.State == "ready" {
		return d, nil
	}
	for round := 0; ; round++ {
		if err := c.Upload(ctx, d.ID, body, req.Size, progress); err != nil {
			return d, err
		}
		err := c.retryCall(ctx, func() error { return c.Complete(ctx, d.ID) })
		var ae *APIError
		if err != nil && round == 0 && errors.As(err, &ae) && ae.Status == http.StatusConflict {
			continue // the relay says the upload is unfinished: check and resume once
		}
		if err != nil {
			return d, err
		}
		d.State = "ready"
		return d, nil
	}
}

// retryCall runs f, retrying temporary failures with backoff. A 409 is
// returned at once: for API calls it is an answer, not an outage.
func (c *Client) retryCall(ctx context.Context, f func() error) error {
	for n := 1; ; n++ {
		err := f()
		var ae *APIError
		if err == nil || IsPermanent(err) || n >= c.retry.Attempts || (errors.As(err, &ae) && ae.Status == http.StatusConflict) {
			return err
		}
		d := c.retry.delay(n, c.randFunc)
		c.logger.Info("relay call failed; retrying", "retry_in", d, "err", err)
		if err := c.sleep(ctx, d); err != nil {
			return err
		}
	}
}
