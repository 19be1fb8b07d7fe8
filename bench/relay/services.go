package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sealprint/sealprint/relay"
)

// gwKey and gwSecret are versitygw's root credentials (loopback only).
const (
	gwKey    = "relaybench"
	gwSecret = "relaybench-secret"
)

// pgBin is where Debian's postgresql-15 keeps its programs.
const pgBin = "/usr/lib/postgresql/15/bin"

// postgres is a throwaway PostgreSQL cluster owned by user postgres.
type postgres struct {
	dir, addr string
}

func asPostgres(ctx context.Context, name string, args ...string) (string, error) {
	if os.Geteuid() == 0 {
		return run(ctx, nil, "runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return run(ctx, nil, name, args...)
}

// startPostgres makes a cluster in work/pg and starts it on a free
// loopback port, with the defaults of a real server (fsync on) and room
// for two replicas' lock connections.
func startPostgres(ctx context.Context, work string) (*postgres, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("no user postgres (apt postgresql): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir := filepath.Join(work, "pg")
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	for _, d := range []string{dir, data} {
		if err := os.Chown(d, uid, gid); err != nil {
			return nil, err
		}
	}
	os.Chmod(work, 0o755)
	if _, err := asPostgres(ctx, filepath.Join(pgBin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		return nil, err
	}
	addr := freeAddr()
	port := addr[strings.LastIndex(addr, ":")+1:]
	opts := fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1 -c max_connections=800 -c shared_buffers=256MB", port, dir)
	if _, err := asPostgres(ctx, filepath.Join(pgBin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start"); err != nil {
		return nil, err
	}
	p := &postgres{dir: dir, addr: addr}
	if _, err := run(ctx, nil, filepath.Join(pgBin, "psql"), "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", "postgres",
		"-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE relay"); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

func (p *postgres) url() string {
	return "postgres://postgres@" + p.addr + "/relay?sslmode=disable"
}

func (p *postgres) stop() {
	asPostgres(context.Background(), filepath.Join(pgBin, "pg_ctl"), "-D", filepath.Join(p.dir, "data"), "-m", "fast", "-w", "stop")
}

// gateway is versitygw's posix backend on a loopback port.
type gateway struct {
	*proc
	dir, endpoint string
}

func startGateway(work, bin string) (*gateway, error) {
	dir := filepath.Join(work, "s3")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	addr := freeAddr()
	// Always the loopback address: versitygw's default listens everywhere.
	// Keep-alive, as docs/relay.md asks of a deployment: without it
	// versitygw closes every connection after one answer, and the relay
	// and tusd's s3store dial it for every request.
	p, err := startProc(work, "versitygw", "", []string{"ROOT_ACCESS_KEY=" + gwKey, "ROOT_SECRET_KEY=" + gwSecret},
		bin, "--port", addr, "--keep-alive", "posix", dir)
	if err != nil {
		return nil, err
	}
	if err := p.waitTCP(addr); err != nil {
		p.stop()
		return nil, err
	}
	g := &gateway{proc: p, dir: dir, endpoint: "http://" + addr}
	for _, b := range []string{"drops", "tusd"} {
		o, _ := relay.ParseS3URL(g.s3URL(b))
		o.AccessKey, o.SecretKey = gwKey, gwSecret
		blobs, err := relay.NewS3Blobs(o, filepath.Join(work, "tmp"))
		if err == nil {
			err = blobs.CreateBucket(context.Background())
		}
		if err != nil {
			p.stop()
			return nil, err
		}
	}
	return g, nil
}

func (g *gateway) s3URL(bucket string) string {
	return "s3://" + bucket + "?endpoint=" + g.endpoint + "&region=us-east-1"
}

// s3Env is the environment of a program that talks to the gateway.
func s3Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + gwKey, "AWS_SECRET_ACCESS_KEY=" + gwSecret, "AWS_REGION=us-east-1",
		// tusd's SDK: versitygw rejects the default CRC32 trailers, as the relay's docs say.
		"AWS_REQUEST_CHECKSUM_CALCULATION=when_required", "AWS_RESPONSE_CHECKSUM_VALIDATION=when_required"}
}

// startNginx serves root as static files (sendfile, as shipped).
func startNginx(work, round, root string) (*proc, string, error) {
	dir := filepath.Join(work, "nginx-"+round)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	addr := freeAddr()
	conf := fmt.Sprintf(`daemon off;
master_process on;
user root;
worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 8192; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 100000;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	default_type application/octet-stream;
	server {
		listen %[2]s;
		root %[3]s;
		location / { }
	}
}
`, dir, addr, root)
	cf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		return nil, "", err
	}
	p, err := startProc(work, "nginx-"+round, "", nil, "nginx", "-c", cf, "-p", dir, "-e", filepath.Join(dir, "error.log"))
	if err != nil {
		return nil, "", err
	}
	if err := p.waitHTTP("http://"+addr+"/", 0); err != nil {
		p.stop()
		return nil, "", err
	}
	return p, "http://" + addr, nil
}

// startHAProxy balances over servers as docs/relay.md shows: a path's
// hash picks the replica.
func startHAProxy(work, round string, servers []string) (*proc, string, error) {
	dir := filepath.Join(work, "haproxy-"+round)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	addr := freeAddr()
	var b strings.Builder
	fmt.Fprintf(&b, `global
	maxconn 8000
defaults
	mode http
	timeout connect 5s
	timeout client 10m
	timeout server 10m
	timeout http-request 1m
	# A loaded replica answers /readyz slowly: give the check time, and
	# three failures in a row before a replica is taken out.
	timeout check 20s
	default-server inter 3s fall 3 rise 2
frontend relay
	bind %s
	default_backend replicas
backend replicas
	balance uri path-only
	hash-type consistent
	option httpchk GET /readyz
	http-check expect status 200
`, addr)
	for i, s := range servers {
		fmt.Fprintf(&b, "\tserver r%d %s check\n", i+1, s)
	}
	cf := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cf, []byte(b.String()), 0o600); err != nil {
		return nil, "", err
	}
	p, err := startProc(work, "haproxy-"+round, "", nil, "haproxy", "-db", "-f", cf)
	if err != nil {
		return nil, "", err
	}
	if err := p.waitHTTP("http://"+addr+"/readyz", 200); err != nil {
		p.stop()
		return nil, "", err
	}
	return p, "http://" + addr, nil
}

// startTusd runs tusd's own server on the file store in dir, or, when
// gw is not nil, on its S3 store in the gateway's bucket "tusd" with the
// relay's part size.
func startTusd(work, round, bin, dir string, gw *gateway, partSize int) (*proc, string, error) {
	addr := freeAddr()
	host, port, _ := strings.Cut(addr, ":")
	args := []string{"-host", host, "-port", port, "-base-path", "/files/", "-disable-download", "-disable-termination",
		"-behind-proxy=false", "-verbose=false"}
	var env []string
	if gw != nil {
		args = append(args, "-s3-bucket", "tusd", "-s3-endpoint", gw.endpoint,
			"-s3-part-size", strconv.Itoa(partSize), "-s3-min-part-size", strconv.Itoa(partSize))
		env = append(s3Env(), "TMPDIR="+dir)
	} else {
		args = append(args, "-upload-dir", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	p, err := startProc(work, "tusd-"+round, "", env, bin, args...)
	if err != nil {
		return nil, "", err
	}
	if err := p.waitHTTP("http://"+addr+"/files/", 0); err != nil {
		p.stop()
		return nil, "", err
	}
	return p, "http://" + addr + "/files/", nil
}

// syncDisk flushes dirty pages so that a round does not pay for the
// previous one's writes.
func syncDisk() {
	exec.Command("sync").Run()
}
