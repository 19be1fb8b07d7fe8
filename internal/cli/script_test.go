package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"github.com/sealprint/sealprint/internal/testutil"

	"github.com/rogpeppe/go-internal/testscript"
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

func readArmoredKey(path string) (*openpgp.Entity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	list, err := openpgp.ReadArmoredKeyRing(f)
	if err != nil {
		return nil, err
	}
	return list[0], nil
}

func reencrypt(msgPath, secPath, pubPath, outPath string) error {
	sec, err := readArmoredKey(secPath)
	if err != nil {
		return err
	}
	pub, err := readArmoredKey(pubPath)
	if err != nil {
		return err
	}
	f, err := os.Open(msgPath)
	if err != nil {
		return err
	}
	defer f.Close()
	var in io.Reader = f
	if blk, err := armor.Decode(f); err == nil {
		in = blk.Body
	} else {
		f.Seek(0, io.SeekStart)
	}
	r := packet.NewReader(in)
	var key []byte
	var cipher packet.CipherFunction
	for {
		p, err := r.Next()
		if err != nil {
			return err
		}
		switch p := p.(type) {
		case *packet.EncryptedKey:
			for _, k := range sec.DecryptionKeys(p.KeyId, time.Time{}, nil) {
				if p.Decrypt(k.PrivateKey, nil) == nil {
					key, cipher = p.Key, p.CipherFunc
				}
			}
		case *packet.SymmetricallyEncrypted:
			rc, err := p.Decrypt(cipher, key)
			if err != nil {
				return err
			}
			inner, err := io.ReadAll(rc)
			if err != nil {
				return err
			}
			if err := rc.Close(); err != nil {
				return err
			}
			ek, err := pub.EncryptionKeyWithError(time.Now(), nil)
			if err != nil {
				return err
			}
			nk := make([]byte, 32)
			rand.Read(nk)
			var out bytes.Buffer
			if err := packet.SerializeEncryptedKeyAEAD(&out, ek.PublicKey, packet.CipherAES256, false, nk, nil); err != nil {
				return err
			}
			w, err := packet.SerializeSymmetricallyEncrypted(&out, packet.CipherAES256, false, packet.CipherSuite{}, nk, nil)
			if err != nil {
				return err
			}
			w.Write(inner)
			if err := w.Close(); err != nil {
				return err
			}
			return os.WriteFile(outPath, out.Bytes(), 0o644)
		}
	}
}
