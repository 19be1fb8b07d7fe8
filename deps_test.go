package sealprint_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection checks the layering of DESIGN.md: cmd → internal/cli
// → {printer, spooler, uploader, relay, keyserver, web, installer} →
// {render, envelope}; envelope and render import no package of ours.
func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/sealprint/sealprint/"
	leaf := map[string]bool{"envelope": true, "render": true}
	service := map[string]bool{"printer": true, "spooler": true, "uploader": true, "relay": true,
		"keyserver": true, "web": true, "installer": true}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod)
		top := strings.SplitN(pkg, "/", 2)[0]
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			dep := strings.TrimPrefix(imp, mod)
			depTop := strings.SplitN(dep, "/", 2)[0]
			switch {
			case leaf[top] && depTop != top:
				t.Errorf("%s imports %s: envelope and render import no other package of ours", pkg, dep)
			case depTop == "cmd" || (depTop == "internal" && strings.HasPrefix(dep, "internal/cli") && top != "cmd" && !strings.HasPrefix(pkg, "internal/cli")):
				t.Errorf("%s imports %s: only cmd imports internal/cli", pkg, dep)
			case service[top] && service[depTop] && depTop != top:
				t.Errorf("%s imports %s: service packages do not import each other (join them in internal/cli)", pkg, dep)
			case (leaf[depTop] || service[depTop]) && strings.HasPrefix(pkg, "internal/") && !strings.HasPrefix(pkg, "internal/cli") && !strings.HasPrefix(pkg, "internal/keystore") && !strings.HasPrefix(pkg, "internal/testutil"):
				t.Errorf("%s imports %s: internal helpers stay below the service packages", pkg, dep)
			}
		}
	}
}
