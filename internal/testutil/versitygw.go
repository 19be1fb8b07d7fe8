package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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
// fails under SEALPRINT_INTEGRATION=1 and is skipped otherwise.
func StartVersitygw(t testing.TB) *Versitygw {
	t.Helper()
	bin := findGoTool(t, "versitygw")
	dir := t.TempDir()
	store := filepath.Join(dir, "s3")
	if err := os.Mkdir(store, 0o700); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	v := &Versitygw{Endpoint: "http://" + addr, AccessKey: "sealprinttest", SecretKey: "sealprinttestsecret"}
	logf, err := os.Create(filepath.Join(dir, "versitygw.log"))
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
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		logf.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return v
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("versitygw exited:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw not listening on %s", addr)
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
