package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/sealprint/sealprint/installer"
	"github.com/sealprint/sealprint/internal/config"
	"github.com/sealprint/sealprint/internal/keystore"
)

const uninstallUsage = "sealprint uninstall [--keep-data] [--printers-only]"

func runUninstall(ctx context.Context, e *env, args []string) error {
	fs := newFlags("uninstall", uninstallUsage+`

Removes what 'sealprint install' added, as recorded in its manifest
(install.json in sealprint's home): the system printers, the service, the
agent's login entry, and the files and directories it created. Printers,
files and settings that were there before are left alone, and so is a
directory something else was put in (the spool of a service that ran).

--printers-only removes only the system printers bound to this machine's
sealprint queues (device URI on the service's listener) and nothing else;
it needs no manifest. The MSI runs it on removal.`, e.stderr)
	keepData := fs.Bool("keep-data", false, "keep the config, keys and spool (package upgrades and removals that are not purges)")
	printersOnly := fs.Bool("printers-only", false, "remove only the system printers bound to the service's own queues (run by the MSI on removal)")
	if _, err := parsePositional(fs, args, 0, 0, uninstallUsage); err != nil {
		return err
	}
	home, err := config.Home(e.getenv)
	if err != nil {
		return err
	}
	if *printersOnly {
		return removeOwnPrinters(ctx, e, home, installer.SystemPrinters(os.Environ()))
	}
	manifestPath := filepath.Join(home, installer.ManifestName)
	if _, err := os.Stat(manifestPath); err != nil {
		fmt.Fprintf(e.stdout, "nothing to remove: no install manifest in %s\n", home)
		return nil
	}
	m, err := installer.LoadManifest(manifestPath)
	if err != nil {
		return err
	}
	var errs []error
	// The printers install recorded, and those the service registered for
	// its own queues (device URI on its listener): no one else's.
	ours := append([]string(nil), m.Printers...)
	sys := installer.SystemPrinters(os.Environ())
	have, listErr := sys.List(ctx)
	if cfg, err := config.Load(home, e.getenv); err == nil && listErr == nil {
		for _, q := range systemQueues(cfg) {
			if uri, ok := have[q.Name]; ok && strings.EqualFold(uri, q.URI) && !slices.Contains(ours, q.Name) {
				ours = append(ours, q.Name)
			}
		}
	}
	if len(ours) > 0 {
		if listErr != nil {
			errs = append(errs, listErr)
		}
		for _, name := range ours {
			if _, ok := have[name]; !ok && listErr == nil {
				continue // already gone
			}
			if err := sys.Remove(ctx, name); err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Fprintf(e.stdout, "removed printer %s\n", name)
		}
		m.Printers = nil
	}
	if m.Service {
		exe, _ := os.Executable()
		if err := installer.UninstallService(serviceConfig(exe, home)); err != nil {
			errs = append(errs, err)
		} else {
			fmt.Fprintf(e.stdout, "removed service %s\n", installer.ServiceName)
			m.Service = false
		}
	}
	if m.RunKey && runtime.GOOS == "windows" {
		if err := installer.RemoveRunKey(); err != nil {
			errs = append(errs, err)
		} else {
			m.RunKey = false
		}
	}
	// Files outside home (the agent's login entry) go in every case; the
	// directories once the files inside home are gone too.
	outside := &installer.Manifest{}
	var inside []string
	for _, f := range m.Files {
		if within(home, f) {
			inside = append(inside, f)
		} else {
			outside.Files = append(outside.Files, f)
		}
	}
	if _, err := outside.RemoveFiles(); err != nil {
		errs = append(errs, err)
	}
	m.Files = inside
	if *keepData {
		if err := m.Save(manifestPath); err != nil {
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "kept the data in %s\n", home)
		return nil
	}
	if len(m.Secrets) > 0 {
		ks, err := keystore.Open(home, keystore.Options{Notice: e.stderr})
		if err == nil {
			for _, s := range m.Secrets {
				if err := ks.Secrets().Delete(s); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if !slices.Contains(m.Files, manifestPath) {
		m.Files = append(m.Files, manifestPath)
	}
	kept, err := m.RemoveFiles()
	if err != nil {
		errs = append(errs, err)
	}
	if len(kept) > 0 {
		fmt.Fprintf(e.stdout, "left in place, not empty: %s\n", strings.Join(kept, ", "))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "uninstalled")
	return nil
}

// within reports whether path is inside dir.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != "." && !strings.HasPrefix(rel, "..")
}

// removeOwnPrinters removes the system printers bound to the queues of the
// config in home, and no other.
func removeOwnPrinters(ctx context.Context, e *env, home string, sys installer.Printers) error {
	cfg, err := config.Load(home, e.getenv)
	if err != nil {
		return fmt.Errorf("printers: %w", err)
	}
	removed, err := installer.RemoveOwn(ctx, sys, systemQueues(cfg))
	for _, name := range removed {
		fmt.Fprintf(e.stdout, "removed printer %s\n", name)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed %d printer(s)\n", len(removed))
	return nil
}
