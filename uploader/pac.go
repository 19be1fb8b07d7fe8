package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
)

// maxPACSize bounds a PAC script.
const maxPACSize = 1 << 20

// pacTimeout bounds one evaluation of FindProxyForURL.
const pacTimeout = 2 * time.Second

// pacSource loads a PAC script (URL or file) on first use and evaluates
// FindProxyForURL for each target. Answers are cached per scheme and host.
type pacSource struct {
	location string
	fetch    *http.Client // direct client for http(s) PAC URLs
	resolver *net.Resolver
	now      func() time.Time

	mu     sync.Mutex
	script *pacScript
	cache  map[string]pacCacheEntry
}

type pacCacheEntry struct {
	proxies []*url.URL
	at      time.Time
}

// pacCacheTTL is how long an answer is reused for the same host.
const pacCacheTTL = 5 * time.Minute

func newPACSource(location string, fetch *http.Client, now func() time.Time) *pacSource {
	return &pacSource{location: location, fetch: fetch, resolver: net.DefaultResolver, now: now,
		cache: map[string]pacCacheEntry{}}
}

// Proxies evaluates the PAC script for target.
func (p *pacSource) Proxies(ctx context.Context, target *url.URL) ([]*url.URL, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := target.Scheme + "://" + target.Host
	if e, ok := p.cache[key]; ok && p.now().Sub(e.at) < pacCacheTTL {
		return e.proxies, nil
	}
	if p.script == nil {
		src, err := p.load(ctx)
		if err != nil {
			return nil, fmt.Errorf("load PAC %s: %w", p.location, err)
		}
		s, err := compilePAC(src, p.resolver)
		if err != nil {
			return nil, fmt.Errorf("PAC %s: %w", p.location, err)
		}
		p.script = s
	}
	// Like browsers, hide the path and query of https URLs from the script.
	u := target.Scheme + "://" + target.Host + "/"
	if target.Scheme == "http" {
		u = target.String()
	}
	res, err := p.script.find(ctx, u, target.Hostname())
	if err != nil {
		return nil, fmt.Errorf("PAC %s: %w", p.location, err)
	}
	list, err := parsePACResult(res)
	if err != nil {
		return nil, fmt.Errorf("PAC %s: %w", p.location, err)
	}
	if len(p.cache) > 256 {
		clear(p.cache)
	}
	p.cache[key] = pacCacheEntry{list, p.now()}
	return list, nil
}

// load reads the script from a file path, a file:// URL or an http(s) URL.
func (p *pacSource) load(ctx context.Context) (string, error) {
	loc := p.location
	if strings.HasPrefix(loc, "file://") {
		u, err := url.Parse(loc)
		if err != nil {
			return "", err
		}
		loc = u.Path
	}
	if !strings.HasPrefix(loc, "http://") && !strings.HasPrefix(loc, "https://") {
		f, err := os.Open(loc)
		if err != nil {
			return "", err
		}
		defer f.Close()
		return readLimited(f)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return "", err
	}
	resp, err := p.fetch.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("server answered %s", resp.Status)
	}
	return readLimited(resp.Body)
}

func readLimited(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxPACSize+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxPACSize {
		return "", fmt.Errorf("script larger than %d bytes", maxPACSize)
	}
	return string(b), nil
}

// pacScript is a compiled PAC script in its own JavaScript runtime. A
// runtime is not safe for concurrent use; pacSource serialises calls.
type pacScript struct {
	vm   *goja.Runtime
	find func(ctx context.Context, url, host string) (string, error)
}

// compilePAC runs the script (with the standard helper functions defined)
// and returns its FindProxyForURL.
func compilePAC(src string, resolver *net.Resolver) (*pacScript, error) {
	vm := goja.New()
	dns := &pacDNS{resolver: resolver}
	if err := installPACHelpers(vm, dns); err != nil {
		return nil, fmt.Errorf("helpers: %w", err)
	}
	if err := runBounded(vm, context.Background(), func() error {
		_, err := vm.RunScript("proxy.pac", src)
		return err
	}); err != nil {
		return nil, fmt.Errorf("run script: %w", err)
	}
	fn, ok := goja.AssertFunction(vm.Get("FindProxyForURL"))
	if !ok {
		return nil, errors.New("script defines no FindProxyForURL function")
	}
	s := &pacScript{vm: vm}
	s.find = func(ctx context.Context, u, host string) (string, error) {
		dns.ctx = ctx
		var out string
		err := runBounded(vm, ctx, func() error {
			v, err := fn(goja.Undefined(), vm.ToValue(u), vm.ToValue(host))
			if err != nil {
				return err
			}
			if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
				return errors.New("FindProxyForURL returned nothing")
			}
			out = v.String()
			return nil
		})
		return out, err
	}
	return s, nil
}

// runBounded runs f, interrupting the script after pacTimeout or when ctx
// ends, so that a looping script cannot hang uploads.
func runBounded(vm *goja.Runtime, ctx context.Context, f func() error) error {
	t := time.AfterFunc(pacTimeout, func() { vm.Interrupt("PAC script took longer than " + pacTimeout.String()) })
	stop := context.AfterFunc(ctx, func() { vm.Interrupt("canceled") })
	defer func() {
		t.Stop()
		stop()
		vm.ClearInterrupt()
	}()
	return f()
}
