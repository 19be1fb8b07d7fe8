package relay

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/relayapi"
)

// replica is one `sealrelay serve` process on the shared storage.
type replica struct {
	base    string
	metrics string // the --metrics-listen base URL
	cmd     *exec.Cmd
	exited  chan error
	log     string
}

// cluster is PostgreSQL + versitygw + the flags and environment that
// point sealrelay at them.
type cluster struct {
	t       *testing.T
	bin     string
	storage []string
	env     []string
	client  *http.Client
	token   string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	bin := testutil.Binary(t, "sealrelay")
	db := testutil.SharedPostgres(t).NewDB(t)
	gw := testutil.StartVersitygw(t)
	// The bucket exists before the replicas start (as an operator makes it).
	o, _ := ParseS3URL(gw.S3URL("drops"))
	o.AccessKey, o.SecretKey = gw.AccessKey, gw.SecretKey
	b, err := NewS3Blobs(o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, bin: bin,
		storage: []string{"--db", db, "--blobs", gw.S3URL("drops")},
		env:     append(os.Environ(), "AWS_ACCESS_KEY_ID="+gw.AccessKey, "AWS_SECRET_ACCESS_KEY="+gw.SecretKey, "TMPDIR="+t.TempDir()),
		client:  &http.Client{Timeout: 2 * time.Minute},
	}
	out := c.run("token", "create", "--name", "Dr Durand")
	c.token = strings.TrimSpace(out)
	if !strings.HasPrefix(c.token, "spt_") {
		t.Fatalf("token %q", c.token)
	}
	return c
}

// run runs an admin command on the shared storage and returns its stdout.
func (c *cluster) run(args ...string) string {
	c.t.Helper()
	cmd := exec.Command(c.bin, append(args, c.storage...)...)
	cmd.Env = c.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("sealrelay %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// start runs a replica and waits for /readyz.
func (c *cluster) start() *replica {
	c.t.Helper()
	addr := testutil.FreeAddr(c.t)
	logf, err := os.CreateTemp(c.t.TempDir(), "replica-*.log")
	if err != nil {
		c.t.Fatal(err)
	}
	maddr := testutil.FreeAddr(c.t)
	cmd := exec.Command(c.bin, append([]string{"serve", "--listen", addr, "--metrics-listen", maddr, "--sweep-interval", "1h"}, c.storage...)...)
	cmd.Env = c.env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	r := &replica{base: "http://" + addr, metrics: "http://" + maddr, cmd: cmd, exited: make(chan error, 1), log: logf.Name()}
	go func() { r.exited <- cmd.Wait(); logf.Close() }()
	c.t.Cleanup(func() { r.kill() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := c.client.Get(r.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return r
			}
		}
		select {
		case err := <-r.exited:
			r.exited <- err
			log, _ := os.ReadFile(r.log)
			c.t.Fatalf("replica exited: %v\n%s", err, log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(r.log)
			c.t.Fatalf("replica not ready\n%s", log)
		}
	}
}

// rereads is the replica's count of completions that read the upload
// back from the bucket.
func (c *cluster) rereads(r *replica) float64 {
	c.t.Helper()
	resp, err := c.client.Get(r.metrics + "/metrics")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	n, err := metricValue(string(b), "sealrelay_upload_hash_rereads_total")
	if err != nil {
		c.t.Fatal(err)
	}
	return n
}

// kill ends the replica with SIGKILL (no cleanup of any kind).
func (r *replica) kill() {
	if r.cmd.ProcessState == nil {
		r.cmd.Process.Signal(syscall.SIGKILL)
		err := <-r.exited
		r.exited <- err
	}
}

// do sends a request to a replica; with auth, as the cluster's sender.
func (c *cluster) do(r *replica, method, path string, body []byte, auth bool, hdr ...string) (int, http.Header, []byte, error) {
	req, err := http.NewRequest(method, r.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	if body == nil {
		req.Body = nil
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// must is do that fails the test on a transport error or another status.
func (c *cluster) must(r *replica, want int, method, path string, body []byte, auth bool, hdr ...string) (http.Header, []byte) {
	c.t.Helper()
	st, h, b, err := c.do(r, method, path, body, auth, hdr...)
	if err != nil || st != want {
		log, _ := os.ReadFile(r.log)
		c.t.Fatalf("%s %s on %s: %d %s, %v; want %d\nreplica log:\n%s", method, path, r.base, st, b, err, want, testutil.Tail(string(log), 3000))
	}
	return h, b
}

// createDrop creates a drop for data on r.
func (c *cluster) createDrop(r *replica, data []byte, req relayapi.CreateDropRequest) string {
	c.t.Helper()
	req.Size, req.SHA256, req.Mode = int64(len(data)), hexSHA(data), "key"
	j, _ := json.Marshal(req)
	_, b := c.must(r, http.StatusCreated, "POST", "/api/v1/drops", j, true, "Content-Type", "application/json")
	var cr relayapi.CreateDropResponse
	if err := json.Unmarshal(b, &cr); err != nil {
		c.t.Fatal(err)
	}
	return cr.ID
}

func tusCreateHdr(id string, n int) []string {
	return []string{"Tus-Resumable", "1.0.0", "Upload-Length", strconv.Itoa(n),
		"Upload-Metadata", "drop " + base64.StdEncoding.EncodeToString([]byte(id))}
}

func tusPatchHdr(off int) []string {
	return []string{"Tus-Resumable", "1.0.0", "Upload-Offset", strconv.Itoa(off), "Content-Type", "application/offset+octet-stream"}
}

// ready uploads data as a new drop through r and completes it.
func (c *cluster) ready(r *replica, data []byte, req relayapi.CreateDropRequest) string {
	c.t.Helper()
	id := c.createDrop(r, data, req)
	c.must(r, http.StatusCreated, "POST", "/api/v1/uploads/", nil, true, tusCreateHdr(id, len(data))...)
	c.must(r, http.StatusNoContent, "PATCH", "/api/v1/uploads/"+id, data, true, tusPatchHdr(0)...)
	c.must(r, http.StatusOK, "POST", "/api/v1/drops/"+id+"/complete", nil, true)
	return id
}

// TestReplicas runs two sealrelay processes on one PostgreSQL and one
// versitygw and checks what must hold across them.
func TestReplicas(t *testing.T) {
	testutil.NeedIntegration(t)
	c := newCluster(t)
	a, b := c.start(), c.start()

	t.Run("resume on the other replica", func(t *testing.T) {
		data := randomBytes(t, S3PartSize+2<<20)
		id := c.createDrop(a, data, relayapi.CreateDropRequest{})
		c.must(a, http.StatusCreated, "POST", "/api/v1/uploads/", nil, true, tusCreateHdr(id, len(data))...)
		half := 5 << 20
		c.must(a, http.StatusNoContent, "PATCH", "/api/v1/uploads/"+id, data[:half], true, tusPatchHdr(0)...)
		h, _ := c.must(b, http.StatusOK, "HEAD", "/api/v1/uploads/"+id, nil, true, "Tus-Resumable", "1.0.0")
		if h.Get("Upload-Offset") != strconv.Itoa(half) {
			t.Fatalf("replica B sees offset %q, want %d", h.Get("Upload-Offset"), half)
		}
		c.must(b, http.StatusNoContent, "PATCH", "/api/v1/uploads/"+id, data[half:], true, tusPatchHdr(half)...)
		c.must(b, http.StatusOK, "POST", "/api/v1/drops/"+id+"/complete", nil, true)
		_, got := c.must(a, http.StatusOK, "GET", "/api/v1/drops/"+id+"/blob", nil, false)
		if !bytes.Equal(got, data) {
			t.Fatal("drop resumed on B differs when downloaded from A")
		}
		// B continued the SHA-256 that A saved with the offset: the
		// object was not read back (and skipping or misreading A's state
		// would have hashed the second half alone: refused).
		if n := c.rereads(b); n != 0 {
			t.Fatalf("replica B read back %v uploads, want 0", n)
		}
	})

	t.Run("uploaded via A downloads via B", func(t *testing.T) {
		data := randomBytes(t, 300<<10)
		id := c.ready(a, data, relayapi.CreateDropRequest{})
		_, got := c.must(b, http.StatusOK, "GET", "/api/v1/drops/"+id+"/blob", nil, false)
		if !bytes.Equal(got, data) {
			t.Fatal("downloaded blob differs")
		}
		// A proof of delivery from the shared chain, signed with the
		// key every replica serves.
		_, proof := c.must(a, http.StatusOK, "GET", "/api/v1/drops/"+id+"/proof", nil, true)
		_, keyA := c.must(a, http.StatusOK, "GET", "/.well-known/sealrelay/audit-key", nil, false)
		_, keyB := c.must(b, http.StatusOK, "GET", "/.well-known/sealrelay/audit-key", nil, false)
		if !bytes.Equal(keyA, keyB) || !bytes.Contains(proof, []byte(id)) || !bytes.Contains(proof, []byte(`"download"`)) {
			t.Fatalf("proof %s; keys %s / %s", proof, keyA, keyB)
		}
		// The operator's commands read the same key and chain from the
		// database: 'audit key --db' prints the served key, and the proof
		// 'audit export --db' writes verifies with it.
		var served, printed AuditPublicKey
		if err := json.Unmarshal(keyA, &served); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(c.run("audit", "key")), &printed); err != nil || printed != served {
			t.Fatalf("audit key --db printed %+v (%v), replicas serve %+v", printed, err, served)
		}
		pub, err := ParseAuditPublicKey(keyA)
		if err != nil {
			t.Fatal(err)
		}
		exported := c.run("audit", "export", "--drop", id, "--public-url", "https://relay.example")
		p, _, err := VerifyProof([]byte(exported), pub)
		if err != nil || p.Drop != id || p.SHA256 != hexSHA(data) {
			t.Fatalf("audit export --db: %v, %+v", err, p)
		}
	})

	t.Run("download limit across replicas", func(t *testing.T) {
		data := randomBytes(t, 64<<10)
		id := c.ready(a, data, relayapi.CreateDropRequest{MaxDownloads: intp(3)})
		statuses := parallel(8, func(i int) int {
			r := []*replica{a, b}[i%2]
			st, _, got, err := c.do(r, "GET", "/api/v1/drops/"+id+"/blob", nil, false)
			if err != nil {
				t.Error(err)
			}
			if st == http.StatusOK && !bytes.Equal(got, data) {
				t.Error("a download differs")
			}
			return st
		})
		if statuses[http.StatusOK] != 3 || statuses[http.StatusGone] != 5 {
			t.Fatalf("8 downloads of a 3-download drop: %v", statuses)
		}
	})

	t.Run("access code lock across replicas", func(t *testing.T) {
		data := randomBytes(t, 1000)
		id := c.ready(a, data, relayapi.CreateDropRequest{AccessCode: "7391-4420"})
		statuses := parallel(10, func(i int) int {
			r := []*replica{a, b}[i%2]
			st, _, _, err := c.do(r, "POST", "/api/v1/drops/"+id+"/code", []byte(`{"code":"0000-`+strconv.Itoa(1000+i)+`"}`), false, "Content-Type", "application/json")
			if err != nil {
				t.Error(err)
			}
			return st
		})
		_, sb := c.must(b, http.StatusOK, "GET", "/api/v1/drops/"+id+"/status", nil, true)
		var st relayapi.DropStatus
		json.Unmarshal(sb, &st)
		if st.CodeFailures != 5 || st.State != StateLocked || statuses[http.StatusForbidden] != 4 || statuses[http.StatusLocked] != 6 {
			t.Fatalf("10 wrong codes: responses %v, stored %d failures, state %s; want 5 and locked", statuses, st.CodeFailures, st.State)
		}
		c.must(a, http.StatusLocked, "POST", "/api/v1/drops/"+id+"/code", []byte(`{"code":"7391-4420"}`), false, "Content-Type", "application/json")
	})

	t.Run("SIGKILL during uploads", func(t *testing.T) {
		killDuringUploads(t, c, b, a, func() *replica { return b })
	})

	out := c.run("audit", "verify")
	if !strings.Contains(out, "intact") {
		t.Fatalf("audit verify: %s", out)
	}
	if out := c.run("drops", "list", "--json"); strings.Count(out, `"id"`) < 50 {
		t.Fatalf("drops list: %s", out)
	}
}

// parallel runs f(0..n-1) at once and counts the statuses they return.
func parallel(n int, f func(i int) int) map[int]int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[int]int{}
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st := f(i)
			mu.Lock()
			out[st]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// killDuringUploads runs 50 uploads through replica a (drops created on
// on) and kills it with SIGKILL once a few have completed; then, on the
// replica restart returns, every upload acknowledged complete must be
// ready and intact, and every other one resumes and completes, intact.
func killDuringUploads(t *testing.T, c *cluster, on, a *replica, restart func() *replica) {
	const n = 50
	datas := make([][]byte, n)
	ids := make([]string, n)
	for i := range datas {
		datas[i] = randomBytes(t, (1+i%5)*(1<<20))
		ids[i] = c.createDrop(on, datas[i], relayapi.CreateDropRequest{})
	}
	var mu sync.Mutex
	completed := map[string]bool{}
	started := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, data := ids[i], datas[i]
			st, _, _, err := c.do(a, "POST", "/api/v1/uploads/", nil, true, tusCreateHdr(id, len(data))...)
			started <- struct{}{}
			if err != nil || st != http.StatusCreated {
				return
			}
			if st, _, _, err := c.do(a, "PATCH", "/api/v1/uploads/"+id, data, true, tusPatchHdr(0)...); err != nil || st != http.StatusNoContent {
				return
			}
			if st, _, _, err := c.do(a, "POST", "/api/v1/drops/"+id+"/complete", nil, true); err == nil && st == http.StatusOK {
				mu.Lock()
				completed[id] = true
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n/2; i++ {
		<-started
	}
	// Kill A once some drops are complete and others still uploading.
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		k := len(completed)
		mu.Unlock()
		if k >= 3 {
			break
		}
	}
	a.kill()
	wg.Wait()
	b := restart()
	t.Logf("%d of %d drops completed before SIGKILL", len(completed), n)
	// Every completed drop downloads intact from B; every other one
	// resumes and completes there, intact.
	for i, id := range ids {
		data := datas[i]
		if !completed[id] {
			st, h, _, err := c.do(b, "HEAD", "/api/v1/uploads/"+id, nil, true, "Tus-Resumable", "1.0.0")
			switch {
			case err != nil:
				t.Fatal(err)
			case st == http.StatusNotFound:
				c.must(b, http.StatusCreated, "POST", "/api/v1/uploads/", nil, true, tusCreateHdr(id, len(data))...)
				c.must(b, http.StatusNoContent, "PATCH", "/api/v1/uploads/"+id, data, true, tusPatchHdr(0)...)
			case st == http.StatusOK:
				off, _ := strconv.Atoi(h.Get("Upload-Offset"))
				if off < len(data) {
					c.must(b, http.StatusNoContent, "PATCH", "/api/v1/uploads/"+id, data[off:], true, tusPatchHdr(off)...)
				}
			case st == http.StatusGone:
				// Completed on A after all (its answer was lost).
			default:
				t.Fatalf("HEAD of drop %d on B: %d", i, st)
			}
			if st != http.StatusGone {
				c.must(b, http.StatusOK, "POST", "/api/v1/drops/"+id+"/complete", nil, true)
			}
		}
		_, got := c.must(b, http.StatusOK, "GET", "/api/v1/drops/"+id+"/blob", nil, false)
		if !bytes.Equal(got, data) {
			t.Fatalf("drop %d (completed before the kill: %v) corrupted", i, completed[id])
		}
	}
}
