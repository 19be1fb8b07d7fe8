package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sealprint/sealprint/installer"
	"github.com/sealprint/sealprint/internal/config"
)

// fakePrinters is a print system held in a map.
type fakePrinters struct {
	have    map[string]string
	removed []string
}

func (f *fakePrinters) List(context.Context) (map[string]string, error) { return f.have, nil }
func (f *fakePrinters) Add(_ context.Context, q installer.Queue) error {
	f.have[q.Name] = q.URI
	return nil
}
func (f *fakePrinters) Remove(_ context.Context, name string) error {
	f.removed = append(f.removed, name)
	delete(f.have, name)
	return nil
}

func TestUninstallPrintersOnlyRemovesOnlyTheServiceQueues(t *testing.T) {
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "config.json"), []byte(`{"queues":[{"name":"OPJ-Lyon","recipients":["martin@police.example"]},{"name":"OPJ-Paris","recipients":["p@police.example"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(k string) string {
		if k == "SEALPRINT_HOME" {
			return home
		}
		return ""
	}}
	cfg, err := config.Load(home, e.getenv)
	if err != nil {
		t.Fatal(err)
	}
	// The default queue and OPJ-Lyon are the service's own printers.
	sys := &fakePrinters{have: map[string]string{}}
	for _, q := range systemQueues(cfg) {
		if q.Name != "OPJ-Paris" {
			sys.have[q.Name] = q.URI
		}
	}
	if len(sys.have) != 2 {
		t.Fatalf("service queues %v", sys.have)
	}
	sys.have["OPJ-Paris"] = "ipp://192.0.2.7/ipp/print/OPJ-Paris" // same name, another printer
	sys.have["Office laser"] = installer.QueueURI("192.0.2.8:631", "laser")
	if err := removeOwnPrinters(context.Background(), e, home, sys); err != nil {
		t.Fatal(err)
	}
	if _, ok := sys.have["OPJ-Lyon"]; ok {
		t.Errorf("OPJ-Lyon kept: removed %v", sys.removed)
	}
	want := map[string]string{"OPJ-Paris": "ipp://192.0.2.7/ipp/print/OPJ-Paris", "Office laser": installer.QueueURI("192.0.2.8:631", "laser")}
	if !reflect.DeepEqual(sys.have, want) {
		t.Errorf("left %v, want %v (removed %v)", sys.have, want, sys.removed)
	}
}
