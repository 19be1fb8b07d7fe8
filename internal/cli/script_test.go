package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/sealprint/sealprint/internal/testutil"
)

// TestMain lets testscript run sealprint and sealrelay in-process as
// commands of the scripts in testdata/script.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sealprint": func() {
			os.Exit(Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
		},
		"sealrelay": func() {
			os.Exit(RunRelay(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
		},
	})
}

// TestScripts runs the command-line behaviour scripts (testdata/script).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("SEALPRINT_HOME", env.WorkDir+"/home")
			env.Setenv("SEALPRINT_KEYRING", "file")
			return nil
		},
		// [need:TOOL] is true when TOOL is on PATH; a missing tool is an
		// error under SEALPRINT_INTEGRATION=1, never a skip.
		Condition: func(cond string) (bool, error) {
			name, ok := strings.CutPrefix(cond, "need:")
			if !ok {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			if _, err := exec.LookPath(name); err != nil {
				if testutil.Integration() {
					return false, fmt.Errorf("required tool %q not found (scripts/test installs it)", name)
				}
				return false, nil
			}
			return true, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// corrupt FILE OFFSET flips one bit of FILE at OFFSET.
			"corrupt": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: corrupt FILE OFFSET")
				}
				path := ts.MkAbs(args[0])
				b, err := os.ReadFile(path)
				ts.Check(err)
				off, err := strconv.Atoi(args[1])
				ts.Check(err)
				if off >= len(b) {
					ts.Fatalf("offset %d beyond %d bytes", off, len(b))
				}
				b[off] ^= 0x10
				ts.Check(os.WriteFile(path, b, 0o644))
			},
			// reencrypt MSG SECRETKEY PUBKEY OUT passes a signed message on
			// as a recipient can: decrypt with SECRETKEY, keep the signed
			// packets untouched, encrypt them to PUBKEY.
			"reencrypt": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 4 {
					ts.Fatalf("usage: reencrypt MSG SECRETKEY PUBKEY OUT")
				}
				ts.Check(reencrypt(ts.MkAbs(args[0]), ts.MkAbs(args[1]), ts.MkAbs(args[2]), ts.MkAbs(args[3])))
			},
		},
	})
}

func reencrypt(msgPath, secPath, pubPath, outPath string) error {
	msg, err := os.ReadFile(msgPath)
	if err != nil {
		return err
	}
	sec, err := os.ReadFile(secPath)
	if err != nil {
		return err
	}
	pub, err := os.ReadFile(pubPath)
	if err != nil {
		return err
	}
	out, err := testutil.Reencrypt(msg, sec, pub)
	if err != nil {
		return err
	}
	return os.WriteFile(outPath, out, 0o644)
}
