package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/sealprint/sealprint/installer"
	"github.com/sealprint/sealprint/internal/config"
	"github.com/sealprint/sealprint/printer"
)

const installUsage = `sealprint install [--relay URL --token T --proxy URL --pac URL|FILE --ca FILE --queue "Name=email[,email]" … --config FILE]`

func runInstall(ctx context.Context, e *env, args []string) error {
	fs := newFlags("install", installUsage+`

Installs sealprint on this computer for every user: writes the machine
config, creates the sender key if there is none, enrols with the relay,
registers the background service (systemd, Windows service, launchd), the
agent started at each login, and one system printer per queue plus the
default "Sealed print" queue. Running it again repairs what is missing.
'sealprint uninstall' removes what it added and nothing else.

Where no service manager runs (systemd not PID 1), it says so and
registers the printers against a 'sealprint serve' already running.`, e.stderr)
	relayURL := fs.String("relay", "", "relay base URL")
	token := fs.String("token", "", "enrolment token (or SEALPRINT_TOKEN, which stays out of the process list)")
	proxy := fs.String("proxy", "", "explicit proxy URL")
	pac := fs.String("pac", "", "proxy auto-config file: URL or path")
	ca := fs.String("ca", "", "PEM file of extra trusted CAs")
	var queues listFlag
	fs.Var(&queues, "queue", `a queue and its recipients, "Name=email[,email]" (repeat)`)
	cfgFile := fs.String("config", "", "config.json to start from (its values, then the flags)")
	name := fs.String("name", "", "sender key name when one is created (default: Sealed printer on HOSTNAME)")
	email := fs.String("email", "", "sender key address when one is created (default: sealprint@HOSTNAME)")
	noService := fs.Bool("no-service", false, "do not register the service (a package's unit or the MSI does)")
	noAgent := fs.Bool("no-agent", false, "do not start the agent at login")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for the service to answer before registering printers")
	if _, err := parsePositional(fs, args, 0, 0, installUsage); err != nil {
		return err
	}
	// --queue values are split on commas by listFlag: join them back.
	specs, err := queueSpecs(queues)
	if err != nil {
		return err
	}
	home, err := config.Home(e.getenv)
	if err != nil {
		return err
	}
	manifestPath := filepath.Join(home, installer.ManifestName)
	m, err := installer.LoadManifest(manifestPath)
	if err != nil {
		return err
	}
	if err := m.MkdirAll(home, 0o700); err != nil {
		return err
	}
	before := entriesUnder(home)
	defer func() {
		// Whatever install created under home is its own to remove.
		for p, isDir := range entriesUnder(home) {
			if _, ok := before[p]; ok || p == manifestPath {
				continue
			}
			if isDir {
				m.AddDir(p)
			} else {
				m.AddFile(p)
			}
		}
		if err := m.Save(manifestPath); err != nil {
			fmt.Fprintf(e.stderr, "sealprint: %v\n", err)
		}
	}()

	if err := installConfig(home, *cfgFile, specs); err != nil {
		return err
	}
	// Queues from the machine settings and SEALPRINT_QUEUES go into the
	// file too: the printer serves the file's queues.
	if err := importMachineSettings(home, e.getenv); err != nil {
		return err
	}
	if err := installEnroll(ctx, e, home, *relayURL, *token, *proxy, *pac, *ca); err != nil {
		return err
	}
	if err := installKey(ctx, e, m, *name, *email); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return err
	}
	if !*noService {
		added, err := installer.InstallService(serviceConfig(exe, home))
		switch {
		case errors.Is(err, installer.ErrNoServiceManager):
			fmt.Fprintf(e.stdout, "service not registered: %s; printers are registered against a running 'sealprint serve'\n", installer.ServiceManagerMissing())
		case err != nil:
			return err
		case added:
			m.Service = true
			fmt.Fprintf(e.stdout, "service %s registered and started\n", installer.ServiceName)
		default:
			fmt.Fprintf(e.stdout, "service %s already registered; restarted\n", installer.ServiceName)
		}
	}
	if !*noAgent {
		if err := installAgent(e, m, exe); err != nil {
			return err
		}
	}
	cfg, err := config.Load(home, e.getenv)
	if err != nil {
		return err
	}
	listen := queueListen(cfg)
	if !waitListening(ctx, listen, *wait) {
		fmt.Fprintf(e.stdout, "no printer service answers at %s yet: printers not registered (the service registers them when it starts)\n", listen)
		return nil
	}
	return installPrinters(ctx, e, m, systemQueues(cfg))
}

// queueSpecs parses --queue values. listFlag splits on commas, so the
// recipients after the first come back as separate items: an item without
// '=' belongs to the queue before it.
func queueSpecs(items []string) ([]config.Queue, error) {
	var out []config.Queue
	for _, it := range items {
		if !strings.Contains(it, "=") {
			if len(out) == 0 {
				return nil, usageError("--queue %q: want Name=email[,email]", it)
			}
			out[len(out)-1].Recipients = append(out[len(out)-1].Recipients, strings.TrimSpace(it))
			continue
		}
		q, err := config.ParseQueue(it)
		if err != nil {
			return nil, usageError("--queue: %v", err)
		}
		out = append(out, q)
	}
	for i, q := range out {
		if err := printer.ValidQueueName(q.Name); err != nil {
			return nil, usageError("--queue %s: %v", q.Name, err)
		}
		if q.Name == printer.DefaultQueue {
			return nil, usageError("--queue: %q is the default queue, whose recipients are chosen after printing", q.Name)
		}
		r, err := checkEmails(q.Recipients)
		if err != nil {
			return nil, err
		}
		out[i].Recipients = r
	}
	return out, nil
}

// installConfig writes the machine config: the --config file's values
// first, then the queues given.
func installConfig(home, from string, queues []config.Queue) error {
	cfg, err := config.LoadFile(home)
	if err != nil {
		return err
	}
	if from != "" {
		src, err := config.ReadFile(from)
		if err != nil {
			return fmt.Errorf("--config: %w", err)
		}
		for _, q := range src.Queues {
			if printer.ValidQueueName(q.Name) != nil {
				return fmt.Errorf("--config %s: queue %q: %v", from, q.Name, printer.ValidQueueName(q.Name))
			}
			if _, err := checkEmails(q.Recipients); err != nil {
				return fmt.Errorf("--config %s: queue %s: %w", from, q.Name, err)
			}
		}
		cfg.Merge(src)
	}
	cfg.Merge(&config.Config{Queues: queues})
	return config.Save(home, cfg)
}

// installEnroll runs the enroll command with what install was given, so
// both validate and store the relay settings the same way.
func installEnroll(ctx context.Context, e *env, home, relay, token, proxy, pac, ca string) error {
	cfg, err := config.Load(home, e.getenv)
	if err != nil {
		return err
	}
	if relay == "" && cfg.Relay == "" {
		fmt.Fprintln(e.stdout, "no relay given (--relay or the machine settings): not enrolled yet")
		return nil
	}
	var args []string
	for flag, v := range map[string]string{"--relay": relay, "--token": token, "--proxy": proxy, "--pac": pac, "--ca": ca} {
		if v != "" {
			args = append(args, flag, v)
		}
	}
	if relay == "" {
		args = append(args, "--relay", cfg.Relay)
	}
	return runEnroll(ctx, e, args)
}

// installKey creates the sender key when there is none.
func installKey(ctx context.Context, e *env, m *installer.Manifest, name, email string) error {
	p, err := openPC(e)
	if err != nil {
		return err
	}
	if _, err := p.keys.SenderPublic(); err == nil {
		return nil
	}
	host, _ := os.Hostname()
	host = strings.ToLower(strings.TrimSpace(host))
	if host == "" {
		host = "localhost"
	}
	if name == "" {
		name = "Sealed printer on " + host
	}
	if email == "" {
		email = "sealprint@" + host
	}
	if err := runKeysGenerate(ctx, e, []string{"--name", name, "--email", email}); err != nil {
		return err
	}
	if p.keys.Secrets().Where(senderKeySecret) == "keyring" {
		m.Secrets = append(m.Secrets, senderKeySecret)
	}
	return nil
}

// senderKeySecret names the sender's secret key among the secrets.
const senderKeySecret = "sender-key"

// installAgent starts 'sealprint agent' at every user's login.
func installAgent(e *env, m *installer.Manifest, exe string) error {
	if runtime.GOOS == "windows" {
		added, err := installer.AddRunKey(exe)
		if err != nil {
			return err
		}
		m.RunKey = m.RunKey || added
		return nil
	}
	path, content, ok := installer.AgentEntry(exe)
	if !ok {
		return nil
	}
	if _, err := os.Stat(path); err == nil {
		return nil // there already: not ours to record
	}
	if err := m.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return fmt.Errorf("agent autostart: %w", err)
	}
	m.AddFile(path)
	fmt.Fprintf(e.stdout, "agent starts at login (%s)\n", path)
	return nil
}

// installPrinters registers the system printers that are missing and
// records those it added.
func installPrinters(ctx context.Context, e *env, m *installer.Manifest, queues []installer.Queue) error {
	sys := installer.SystemPrinters(os.Environ())
	added, err := installer.Ensure(ctx, sys, queues)
	for _, n := range added {
		m.AddPrinter(n)
	}
	for _, q := range queues {
		fmt.Fprintf(e.stdout, "printer %s → %s\n", q.Name, q.URI)
	}
	return err
}

// systemQueues are the system printers for the configured queues: the
// default queue ("Sealed print") and one per address-book queue.
func systemQueues(cfg *config.Config) []installer.Queue {
	listen := queueListen(cfg)
	def := installer.Queue{Name: printer.DefaultQueue, URI: installer.QueueURI(listen, printer.DefaultQueue), Info: "Sealed print"}
	if runtime.GOOS == "windows" {
		def.Name = "Sealed print"
		def.Info = ""
	}
	out := []installer.Queue{def}
	for _, q := range cfg.Queues {
		if printer.ValidQueueName(q.Name) != nil || q.Name == printer.DefaultQueue {
			continue
		}
		out = append(out, installer.Queue{Name: q.Name, URI: installer.QueueURI(listen, q.Name), Info: "Sealed → " + strings.Join(q.Recipients, ", ")})
	}
	return out
}

// serviceConfig is the background service: 'sealprint serve --service'
// with this home.
func serviceConfig(exe, home string) installer.ServiceConfig {
	return installer.ServiceConfig{
		Executable: exe,
		Arguments:  []string{"serve", "--service"},
		Env:        map[string]string{"SEALPRINT_HOME": home},
	}
}

// waitListening reports whether something accepts TCP connections at addr
// within d.
func waitListening(ctx context.Context, addr string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// entriesUnder lists the files and directories under dir (not dir
// itself), true for a directory.
func entriesUnder(dir string) map[string]bool {
	out := map[string]bool{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != dir {
			out[p] = d.IsDir()
		}
		return nil
	})
	return out
}
