package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sealprint/sealprint/installer"
	"github.com/sealprint/sealprint/internal/config"
)

// inServiceKey marks the context of a serve run by runServeService.
type inServiceKey struct{}

// runServeService runs 'sealprint serve' as the system service: the
// machine settings (Windows registry) are moved into the config first, then
// serve runs under the service manager.
func runServeService(ctx context.Context, e *env, args []string) error {
	home, err := config.Home(e.getenv)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", home, err)
	}
	// On Windows the home is under %ProgramData%, which every user reads.
	if err := installer.RestrictDir(home); err != nil {
		return err
	}
	exe, _ := os.Executable()
	return installer.RunService(ctx, serviceConfig(exe, home), func(ctx context.Context) error {
		// After the manager is answered: it waits for a start only so long.
		if err := importMachineSettings(home, e.getenv); err != nil {
			return err
		}
		// An MSI-installed service is the first to run: it creates the key.
		if err := installKey(ctx, e, &installer.Manifest{}, "", ""); err != nil {
			return err
		}
		return runServe(context.WithValue(ctx, inServiceKey{}, true), e, args)
	})
}

// importMachineSettings writes the machine settings (relay, token, queues
// from the MSI or Group Policy) and SEALPRINT_QUEUES (the unit's
// environment file) into the config file, which the printer watches for
// queues, and deletes the token from the registry, which every user can
// read. They are read again at each start, so a changed policy applies at
// the next start.
func importMachineSettings(home string, getenv func(string) string) error {
	m, err := config.MachineSettings()
	if err != nil {
		return err
	}
	if v := getenv("SEALPRINT_QUEUES"); v != "" {
		if m == nil {
			m = map[string]string{}
		}
		m[config.MachineQueues] = strings.TrimSuffix(m[config.MachineQueues]+";"+v, ";")
	}
	if len(m) == 0 {
		return nil
	}
	cfg, err := config.LoadFile(home)
	if err != nil {
		return err
	}
	if err := config.ApplyMachine(cfg, m); err != nil {
		return err
	}
	if err := config.Save(home, cfg); err != nil {
		return err
	}
	return config.ForgetMachineToken()
}

// ensureSystemPrinters registers the system printers for the configured
// queues, and again whenever one goes missing: a service checks them on
// each start, so a printer deleted by hand comes back.
func ensureSystemPrinters(ctx context.Context, home string, getenv func(string) string, log *slog.Logger) {
	sys := installer.SystemPrinters(os.Environ())
	for {
		cfg, err := config.Load(home, getenv)
		if err == nil {
			var added []string
			added, err = installer.Ensure(ctx, sys, systemQueues(cfg))
			if len(added) > 0 {
				log.Info("system printers registered", "printers", added)
			}
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("system printers", "err", err, "config", filepath.Join(home, config.FileName))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Minute):
		}
	}
}
