package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Versitygw is an S3 gateway (versitygw's posix backend) on a loopback
// port, storing into a temp dir.
type Versitygw struct {
	// Endpoint is http://127.0.0.1:PORT.
	Endpoint string
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string
}

// StartVersitygw starts versitygw for the test (stopped at cleanup).
// Without the binary (scripts/test installs it with go install) the test
// fails under SEALPRINT_INTEGRATION=1 and is skipped otherwise. A gateway
// that cannot bind its port (taken since it was picked) is started again
// on another.
func StartVersitygw(t testing.TB) *Versitygw {
	t.Helper()
	bin := findGoTool(t, "versitygw")
	dir := t.TempDir()
	store := filepath.Join(dir, "s3")
	if err := os.Mkdir(store, 0o700); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		v, log, err := startVersitygw(t, bin, store, filepath.Join(dir, fmt.Sprintf("versitygw-%d.log", attempt)))
		if err == nil {
			return v
		}
		if attempt == 5 || !strings.Contains(log, "address already in use") {
			t.Fatalf("versitygw: %v\n%s", err, log)
		}
		t.Logf("versitygw: port taken since it was picked, starting on another: %v", err)
	}
}

// startVersitygw starts one gateway and waits until it accepts
// connections. When it exits first, it returns its log. A gateway that
// answers is registered for cleanup.
func startVersitygw(t testing.TB, bin, store, logPath string) (*Versitygw, string, error) {
	port := FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	v := &Versitygw{Endpoint: "http://" + addr, AccessKey: "sealprinttest", SecretKey: "sealprinttestsecret"}
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// Always the loopback address: versitygw's default listens everywhere.
	// Keep-alive as a deployment would have it (versitygw closes every
	// connection after one answer by default).
	cmd := exec.Command(bin, "--port", addr, "--keep-alive", "posix", store)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+v.AccessKey, "ROOT_SECRET_KEY="+v.SecretKey)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
		logf.Close()
	}
	readLog := func() string {
		b, _ := os.ReadFile(logPath)
		return string(b)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			logf.Close()
			return nil, readLog(), fmt.Errorf("exited before listening on %s", addr)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			// The listener must be this gateway's, not another program's
			// that took the port since it was picked (this one then exits).
			if ListensOn(cmd.Process.Pid, port) {
				t.Cleanup(stop)
				return v, "", nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, readLog(), fmt.Errorf("not listening on %s after 60 s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// findGoTool finds a program installed with go install: on PATH or in
// GOBIN / GOPATH/bin.
func findGoTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		dirs = append(dirs, filepath.Join(string(trimNL(out)), "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if Integration() {
		t.Fatalf("required tool %q not found (scripts/test installs it with go install)", name)
	}
	t.Skipf("%s not installed; set SEALPRINT_INTEGRATION=1 to make this a failure", name)
	return ""
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// S3URL is the --blobs URL of bucket on this gateway.
func (v *Versitygw) S3URL(bucket string) string {
	return fmt.Sprintf("s3://%s?endpoint=%s&region=us-east-1", bucket, v.Endpoint)
}
