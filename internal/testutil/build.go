package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	buildOnce sync.Map // binary name → *buildResult
)

type buildResult struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// Binary builds ./cmd/NAME of this module once per test process and returns
// the path of the executable.
func Binary(t testing.TB, name string) string {
	t.Helper()
	v, _ := buildOnce.LoadOrStore(name, &buildResult{})
	r := v.(*buildResult)
	r.once.Do(func() {
		dir, err := os.MkdirTemp("", "sealprint-bin-")
		if err != nil {
			r.err = err
			return
		}
		r.path = filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", r.path, "./cmd/"+name)
		cmd.Dir = ModuleRoot()
		r.out, r.err = cmd.CombinedOutput()
	})
	if r.err != nil {
		t.Fatalf("build %s: %v\n%s", name, r.err, r.out)
	}
	return r.path
}

// ModuleRoot returns the directory of the module's go.mod.
func ModuleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}
