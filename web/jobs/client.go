package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/sealprint/sealprint/internal/atomicfile"
	"github.com/sealprint/sealprint/spooler"
)

// ServiceInfo tells local commands where the running service listens and
// how to authenticate to its API. It is stored in the spool directory
// (mode 0600) while the service runs.
type ServiceInfo struct {
	URL   string `json:"url"`
	Token string `json:"token"`
	PID   int    `json:"pid"`
}

const serviceFile = "service.json"

// WriteServiceInfo records info in the spool directory dir.
func WriteServiceInfo(dir string, info ServiceInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, serviceFile), b, 0o600)
}

// ReadServiceInfo reads what WriteServiceInfo stored.
func ReadServiceInfo(dir string) (ServiceInfo, error) {
	var info ServiceInfo
	b, err := os.ReadFile(filepath.Join(dir, serviceFile))
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil || !strings.HasPrefix(info.URL, "http://") {
		return info, errors.New("service info in the spool is malformed")
	}
	return info, nil
}

// Client talks to the jobs API of a running service.
type Client struct {
	Info ServiceInfo
	HTTP *http.Client
	// Lang is the language of the jobs' messages (French when empty).
	Lang Lang
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.Info.URL, "/")+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Info.Token)
	lang := c.Lang
	if lang == "" {
		lang = French
	}
	req.Header.Set("Accept-Language", string(lang))
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("talk to the running service: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e apiError
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return errors.New(spooler.Clip(e.Error, 500))
		}
		return fmt.Errorf("service answered %s", resp.Status)
	}
	return json.Unmarshal(b, out)
}

// List returns the service user's jobs.
func (c *Client) List(ctx context.Context) ([]JobView, error) {
	var out []JobView
	err := c.do(ctx, http.MethodGet, "/jobs/api", nil, &out)
	return out, err
}

// ListAll returns every user's jobs, which only a service run by root or
// an administrator grants.
func (c *Client) ListAll(ctx context.Context) ([]JobView, error) {
	var out []JobView
	err := c.do(ctx, http.MethodGet, "/jobs/api?all=1", nil, &out)
	return out, err
}

// Release sends a held job to recipients.
func (c *Client) Release(ctx context.Context, id string, to []string) (JobView, error) {
	return c.action(ctx, id, "release", &ActionRequest{To: to})
}

// ReleaseWith releases a held job as the release form does (link mode,
// access code, limits, deadline); the result carries the access code
// when one is shown to the sender, once.
func (c *Client) ReleaseWith(ctx context.Context, id string, req ActionRequest) (ActionResult, error) {
	var out ActionResult
	if !spooler.ValidID(id) {
		return out, fmt.Errorf("%q is not a job id", spooler.Clip(id, 40))
	}
	err := c.do(ctx, http.MethodPost, "/jobs/api/"+id+"/release", &req, &out)
	return out, err
}

// Cancel cancels a job.
func (c *Client) Cancel(ctx context.Context, id string) (JobView, error) {
	return c.action(ctx, id, "cancel", nil)
}

// Retry retries a failed job now.
func (c *Client) Retry(ctx context.Context, id string) (JobView, error) {
	return c.action(ctx, id, "retry", nil)
}

func (c *Client) action(ctx context.Context, id, action string, in any) (JobView, error) {
	var out JobView
	if !spooler.ValidID(id) {
		return out, fmt.Errorf("%q is not a job id", spooler.Clip(id, 40))
	}
	err := c.do(ctx, http.MethodPost, "/jobs/api/"+id+"/"+action, in, &out)
	return out, err
}
