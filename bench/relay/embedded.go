package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// benchCode is the access code of the downloaded drops: each download
// sends the grant it gives.
const benchCode = "bench-4821"

// relayStorage is what the scenarios of one storage share: how to start
// a relay on it, the drops to download and their grants.
type relayStorage struct {
	b     *bench
	token string
	ids   []string
	// serve returns the arguments and environment of a replica.
	serve func(round string, i int) ([]string, []string)
	// blobPath is where a drop's ciphertext is as a file (for nginx),
	// relative to fileRoot.
	fileRoot string
	blobPath func(id string) string

	grantsAt time.Time
	grants   map[string]string
}

// startRelay starts one sealrelay serve process on the storage.
func (st *relayStorage) startRelay(round string, i int, cpu string) (*proc, string, error) {
	addr := freeAddr()
	args, env := st.serve(round, i)
	args = append([]string{"serve", "--listen", addr, "--metrics-listen", "", "--max-conns-per-ip", "0",
		"--sweep-interval", "1h"}, args...)
	name := fmt.Sprintf("sealrelay-%s-%d", round, i)
	p, err := startProc(st.b.o.work, name, cpu, append(env, st.b.relayEnv(name)...), st.b.o.sealrelay, args...)
	if err != nil {
		return nil, "", err
	}
	if err := p.waitHTTP("http://"+addr+"/readyz", 200); err != nil {
		p.stop()
		return nil, "", err
	}
	return p, "http://" + addr, nil
}

// replicas starts n relays (pinned to cpus[i] when given), behind
// haproxy when proxy is true.
func (st *relayStorage) replicas(n int, cpus []string, proxy bool) func(ctx context.Context, round string) (*servers, error) {
	return func(ctx context.Context, round string) (*servers, error) {
		s := &servers{}
		var addrs []string
		for i := 0; i < n; i++ {
			cpu := ""
			if i < len(cpus) {
				cpu = cpus[i]
			}
			p, base, err := st.startRelay(round, i, cpu)
			if err != nil {
				s.stop()
				return nil, err
			}
			s.rss = append(s.rss, p)
			s.all = append(s.all, p)
			s.base = base
			addrs = append(addrs, strings.TrimPrefix(base, "http://"))
		}
		if proxy {
			p, base, err := startHAProxy(st.b.o.work, round, addrs)
			if err != nil {
				s.stop()
				return nil, err
			}
			s.all = append([]*proc{p}, s.all...)
			s.base = base
		}
		return s, nil
	}
}

// setup uploads the drops that the download scenarios read.
func (st *relayStorage) setup(ctx context.Context) error {
	s, err := st.replicas(1, nil, false)(ctx, "setup")
	if err != nil {
		return err
	}
	defer s.stop()
	up := &relayUploads{base: s.base, token: st.token, data: st.b.data, sum: st.b.sum, code: benchCode}
	for len(up.ids) < st.b.o.drops {
		n := min(8, st.b.o.drops-len(up.ids))
		if res := load(ctx, n, up.job); res.errs > 0 {
			return fmt.Errorf("setup uploads: %s", res.firstErr)
		}
	}
	st.ids = up.ids
	for _, id := range st.ids {
		if _, err := os.Stat(filepath.Join(st.fileRoot, st.blobPath(id))); err != nil {
			return fmt.Errorf("blob as a file: %w", err)
		}
	}
	return nil
}

// freshGrants returns grants for every drop, asking a relay of its own
// (so that the measured one does no argon2 work) when they are older than
// 3 minutes (they live 5).
func (st *relayStorage) freshGrants(ctx context.Context) (map[string]string, error) {
	if st.grants != nil && time.Since(st.grantsAt) < 3*time.Minute {
		return st.grants, nil
	}
	s, err := st.replicas(1, nil, false)(ctx, "grants")
	if err != nil {
		return nil, err
	}
	defer s.stop()
	t := time.Now()
	g, err := grants(ctx, s.base, benchCode, st.ids)
	if err != nil {
		return nil, err
	}
	st.grants, st.grantsAt = g, t
	return g, nil
}

// download is a scenario of conc downloads of the storage's drops.
func (st *relayStorage) download(name string, conc int, start func(context.Context, string) (*servers, error)) scenario {
	var g map[string]string
	return scenario{name: name, conc: conc, start: start,
		before: func(ctx context.Context) error {
			var err error
			g, err = st.freshGrants(ctx)
			return err
		},
		prepare: func(ctx context.Context, s *servers) (job, func(), error) {
			d := &relayDownloads{base: s.base, ids: st.ids, grants: g, size: st.b.size, sum: st.b.sum}
			return d.job, nil, nil
		}}
}

// upload is a scenario of conc uploads; the drops are revoked afterwards
// (their blobs deleted) so that rounds do not fill the disk.
func (st *relayStorage) upload(name string, conc int, start func(context.Context, string) (*servers, error)) scenario {
	return scenario{name: name, conc: conc, start: start,
		prepare: func(ctx context.Context, s *servers) (job, func(), error) {
			up := &relayUploads{base: s.base, token: st.token, data: st.b.data, sum: st.b.sum}
			return up.job, func() {
				fmt.Fprintf(os.Stderr, "    %s\n", up.phaseSummary())
				hc := newClient(8)
				for _, id := range up.ids {
					req, _ := http.NewRequestWithContext(ctx, "DELETE", s.base+"/api/v1/drops/"+id, nil)
					req.Header.Set("Authorization", "Bearer "+st.token)
					doReq(hc, req, http.StatusNoContent, nil)
				}
			}, nil
		}}
}

// nginx is a scenario of conc downloads of the same blobs from nginx.
func (st *relayStorage) nginx(name string, conc int) scenario {
	var paths []string
	return scenario{name: name, conc: conc,
		start: func(ctx context.Context, round string) (*servers, error) {
			p, base, err := startNginx(st.b.o.work, round, st.fileRoot)
			if err != nil {
				return nil, err
			}
			return &servers{base: base, rss: []*proc{p}, tree: true, all: []*proc{p}}, nil
		},
		prepare: func(ctx context.Context, s *servers) (job, func(), error) {
			if paths == nil {
				for _, id := range st.ids {
					paths = append(paths, "/"+st.blobPath(id))
				}
			}
			d := &staticDownloads{base: s.base, paths: paths, size: st.b.size, sum: st.b.sum}
			return d.job, nil, nil
		}}
}

// tusd is a scenario of conc uploads to tusd's server.
func (st *relayStorage) tusd(name string, conc int, gw *gateway) scenario {
	dir := filepath.Join(st.b.o.work, "tusd-"+strings.Fields(name)[2])
	return scenario{name: name, conc: conc,
		start: func(ctx context.Context, round string) (*servers, error) {
			p, base, err := startTusd(st.b.o.work, round, st.b.o.tusd, dir, gw, s3PartSize)
			if err != nil {
				return nil, err
			}
			return &servers{base: base, rss: []*proc{p}, all: []*proc{p}}, nil
		},
		prepare: func(ctx context.Context, s *servers) (job, func(), error) {
			u := &tusdUploads{base: s.base, data: st.b.data}
			return u.job, func() {
				// Rounds must not fill the disk: empty the upload area
				// (with S3: the bucket's files).
				root := dir
				if gw != nil {
					root = filepath.Join(gw.dir, "tusd")
				}
				ents, _ := os.ReadDir(root)
				for _, e := range ents {
					os.RemoveAll(filepath.Join(root, e.Name()))
				}
			}, nil
		}}
}

// tusdSynced is tusd's file store with a sync of the disk counted at the
// end of the round: tusd acknowledges uploads without fsync, the relay
// only once they are durable.
func (st *relayStorage) tusdSynced(name string, conc int) scenario {
	sc := st.tusd(name, conc, nil)
	sc.syncAfter = true
	return sc
}

// s3PartSize is the relay's multipart part size (relay.S3PartSize),
// given to tusd too so that both do the same S3 requests.
const s3PartSize = 8 << 20

// embedded runs the scenarios of one embedded relay (SQLite + files).
func (b *bench) embedded(ctx context.Context) error {
	data := filepath.Join(b.o.work, "embedded")
	out, err := run(ctx, nil, b.o.sealrelay, "token", "create", "--data", data, "--name", "bench")
	if err != nil {
		return err
	}
	st := &relayStorage{b: b, token: strings.TrimSpace(out), fileRoot: filepath.Join(data, "blobs"),
		blobPath: func(id string) string { return id[:2] + "/" + id },
		serve: func(round string, i int) ([]string, []string) {
			return []string{"--data", data}, nil
		}}
	fmt.Fprintln(os.Stderr, "embedded relay (SQLite + files): uploading the drops to download…")
	if err := st.setup(ctx); err != nil {
		return err
	}
	one := st.replicas(1, nil, false)
	d, u, sm := b.o.downloads, b.o.uploads, b.o.small
	return b.runGroup(ctx, []scenario{
		st.download(fmt.Sprintf("embedded download relay c=%d", d), d, one),
		st.nginx(fmt.Sprintf("embedded download nginx c=%d", d), d),
		st.download(fmt.Sprintf("embedded download relay c=%d", sm), sm, one),
		st.upload(fmt.Sprintf("embedded upload relay c=%d", u), u, one),
		st.tusd(fmt.Sprintf("embedded upload tusd-filestore c=%d", u), u, nil),
		st.tusdSynced(fmt.Sprintf("embedded upload tusd-filestore+sync c=%d", u), u),
	})
}

// s3 runs the scenarios of replicas on PostgreSQL and versitygw.
func (b *bench) s3(ctx context.Context) error {
	if b.o.versitygw == "" || b.o.tusd == "" {
		return fmt.Errorf("-versitygw and -tusd are required")
	}
	pg, err := startPostgres(ctx, b.o.work)
	if err != nil {
		return err
	}
	defer pg.stop()
	gw, err := startGateway(b.o.work, b.o.versitygw)
	if err != nil {
		return err
	}
	defer gw.stop()
	storage := []string{"--db", pg.url(), "--blobs", gw.s3URL("drops")}
	out, err := run(ctx, s3Env(), b.o.sealrelay, append([]string{"token", "create", "--name", "bench"}, storage...)...)
	if err != nil {
		return err
	}
	st := &relayStorage{b: b, token: strings.TrimSpace(out), fileRoot: filepath.Join(gw.dir, "drops"),
		blobPath: func(id string) string { return "blobs/" + id },
		serve: func(round string, i int) ([]string, []string) {
			tmp := filepath.Join(b.o.work, fmt.Sprintf("replica-%s-%d", round, i))
			os.MkdirAll(tmp, 0o700)
			return storage, append(s3Env(), "TMPDIR="+tmp)
		}}
	fmt.Fprintln(os.Stderr, "replicas on PostgreSQL + versitygw: uploading the drops to download…")
	if err := st.setup(ctx); err != nil {
		return err
	}
	d, u, sm := b.o.downloads, b.o.uploads, b.o.small
	one, oneP, twoP := st.replicas(1, nil, false), st.replicas(1, nil, true), st.replicas(2, nil, true)
	list := []scenario{
		st.download(fmt.Sprintf("s3 download 1 replica c=%d", d), d, one),
		st.nginx(fmt.Sprintf("s3 download nginx c=%d", d), d),
		st.gatewayDirect(fmt.Sprintf("s3 download versitygw direct c=%d", d), d, gw),
		st.download(fmt.Sprintf("s3 download 1 replica c=%d", sm), sm, one),
		st.download(fmt.Sprintf("s3 download haproxy+1 replica c=%d", d), d, oneP),
		st.download(fmt.Sprintf("s3 download haproxy+2 replicas c=%d", d), d, twoP),
		st.upload(fmt.Sprintf("s3 upload 1 replica c=%d", u), u, one),
		st.upload(fmt.Sprintf("s3 upload haproxy+1 replica c=%d", u), u, oneP),
		st.upload(fmt.Sprintf("s3 upload haproxy+2 replicas c=%d", u), u, twoP),
		st.tusd(fmt.Sprintf("s3 upload tusd-s3store c=%d", u), u, gw),
	}
	if b.o.pin {
		oneC, twoC := st.replicas(1, []string{"0"}, true), st.replicas(2, []string{"0", "1"}, true)
		list = append(list,
			st.download(fmt.Sprintf("s3 download haproxy+1 replica on cpu0 c=%d", d), d, oneC),
			st.download(fmt.Sprintf("s3 download haproxy+2 replicas on cpu0,cpu1 c=%d", d), d, twoC),
			st.upload(fmt.Sprintf("s3 upload haproxy+1 replica on cpu0 c=%d", u), u, oneC),
			st.upload(fmt.Sprintf("s3 upload haproxy+2 replicas on cpu0,cpu1 c=%d", u), u, twoC),
		)
	}
	return b.runGroup(ctx, list)
}
