package sealprint_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The layers of DESIGN.md, bottom up. A package may import packages of a
// lower layer (and helpers under internal/), never of its own layer or a
// higher one, with the exceptions below:
//
//	leaf     envelope, render, relayapi, pdfsign: nothing of ours
//	service  printer, spooler, uploader, relay, keyserver
//	upper    deliver, web/jobs, web/recipient, installer
//	top      internal/cli; then cmd/ and bench/ programs
var layers = map[string]int{
	"envelope": 0, "render": 0, "relayapi": 0, "pdfsign": 0,
	"printer": 1, "spooler": 1, "uploader": 1, "relay": 1, "keyserver": 1,
	"deliver": 2, "web/jobs": 2, "web/recipient": 2, "installer": 2,
	"internal/cli": 3,
	"cmd":          4, "bench": 4,
}

// allowed lists the only packages of ours an upper package may import,
// where DESIGN.md is narrower than the layers.
var allowed = map[string][]string{
	"deliver":       {"spooler", "render", "pdfsign", "envelope", "uploader", "relayapi"},
	"web/recipient": {"relayapi"},
}

// unit names the room a package belongs to: its top directory, or
// web/NAME for the web pages.
func unit(pkg string) string {
	parts := strings.Split(pkg, "/")
	switch {
	case parts[0] == "web" && len(parts) > 1:
		return "web/" + parts[1]
	case parts[0] == "internal" && len(parts) > 1 && parts[1] == "cli":
		return "internal/cli"
	case parts[0] == "internal" && len(parts) > 1:
		return "internal/" + parts[1]
	}
	return parts[0]
}

// TestImportDirection checks that imports go one way, as DESIGN.md draws
// them: cmd → internal/cli → {deliver, web/*, installer} → {printer,
// spooler, uploader, relay, keyserver} → {render, pdfsign, envelope,
// relayapi}; internal helpers (atomicfile, config, mail, …) stay below the
// service packages.
func TestImportDirection(t *testing.T) {
	for pkg, deps := range ourImports(t) {
		if pkg == "" {
			continue // this test's own package
		}
		from := unit(pkg)
		for _, dep := range deps {
			to := unit(dep)
			if to == from || strings.HasPrefix(dep, pkg+"/internal/") {
				continue
			}
			if msg := arrow(from, to); msg != "" {
				t.Errorf("%s imports %s: %s", pkg, dep, msg)
			}
		}
	}
}

// ourImports maps each package of the module (path inside the module; ""
// for the root) to the packages of the module it imports, from go list.
func ourImports(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/sealprint/sealprint"
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], mod), "/")
		imports[pkg] = nil
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, mod+"/") {
				imports[pkg] = append(imports[pkg], strings.TrimPrefix(imp, mod+"/"))
			}
		}
	}
	return imports
}

// arrow says what is wrong with package unit from importing unit to, or
// "" when the arrow is allowed.
func arrow(from, to string) string {
	lf, fromKnown := layers[from]
	lt, toKnown := layers[to]
	helper := strings.HasPrefix(to, "internal/") && to != "internal/cli"
	switch {
	case to == "internal/cli" && from != "cmd":
		return "only cmd/ imports internal/cli"
	case to == "cmd" || to == "bench":
		return "nothing imports a program"
	case strings.HasPrefix(from, "internal/") && from != "internal/cli" && !fromKnown:
		// Helpers: keystore may use envelope; testutil serves tests.
		if from == "internal/keystore" && to == "envelope" || helper {
			return ""
		}
		return "internal helpers stay below the service packages"
	case !fromKnown:
		return "package " + from + " is not placed in deps_test.go's layers"
	case helper:
		if lf == 0 {
			return "leaf packages import no other package of ours"
		}
		return ""
	case !toKnown:
		return "package " + to + " is not placed in deps_test.go's layers"
	case lf == 0:
		return "leaf packages import no other package of ours"
	case lt >= lf:
		return "imports go down one way: " + from + " may not import its peer or a higher layer (join them in internal/cli)"
	}
	if only, ok := allowed[from]; ok {
		for _, a := range only {
			if a == to {
				return ""
			}
		}
		return from + " imports only " + strings.Join(only, ", ")
	}
	return ""
}

// TestArrows checks the rules on arrows that must be refused.
func TestArrows(t *testing.T) {
	for _, c := range []struct {
		from, to string
		ok       bool
	}{
		{"internal/cli", "deliver", true},
		{"deliver", "uploader", true},
		{"deliver", "printer", false},
		{"deliver", "web/jobs", false},
		{"web/jobs", "spooler", true},
		{"web/jobs", "web/recipient", false},
		{"web/recipient", "spooler", false},
		{"spooler", "web/jobs", false},
		{"spooler", "uploader", false},
		{"relay", "relayapi", true},
		{"relayapi", "envelope", false},
		{"render", "internal/atomicfile", false},
		{"printer", "internal/config", true}, // checked by TestConfigAtTheEdge
		{"printer", "internal/cli", false},
		{"internal/mail", "relay", false},
		{"newpkg", "render", false},
	} {
		if got := arrow(c.from, c.to) == ""; got != c.ok {
			t.Errorf("%s → %s allowed = %v, want %v (%s)", c.from, c.to, got, c.ok, arrow(c.from, c.to))
		}
	}
}

// TestConfigAtTheEdge checks that only internal/cli (and the config
// package itself) reads config.json and SEALPRINT_* variables: everything
// below takes option structs.
func TestConfigAtTheEdge(t *testing.T) {
	grep, err := exec.Command("git", "grep", "-n", `"SEALPRINT_`, "--", "*.go",
		":!*_test.go", ":!internal/cli/", ":!internal/config/", ":!internal/testutil/").Output()
	if len(grep) > 0 {
		t.Errorf("SEALPRINT_* read outside internal/cli:\n%s", grep)
	} else if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("git grep: %v", err)
	}
	for pkg, deps := range ourImports(t) {
		for _, dep := range deps {
			if dep == "internal/config" && pkg != "internal/cli" {
				t.Errorf("%s imports internal/config: only internal/cli reads the configuration", pkg)
			}
		}
	}
}
