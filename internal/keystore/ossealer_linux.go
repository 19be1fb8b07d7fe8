package keystore

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
)

// systemdCreds seals with systemd-creds (systemd ≥ 250): the host's
// credential key and, where present, the TPM.
type systemdCreds struct{ path string }

// OSSealer returns the OS facility that seals file secrets: systemd-creds
// when it is installed and works (a test round trip), else errNoSealer.
func OSSealer() (Sealer, error) {
	p, err := exec.LookPath("systemd-creds")
	if err != nil {
		return nil, errNoSealer
	}
	s := systemdCreds{path: p}
	probe := []byte("sealprint probe")
	sealed, err := s.Seal("probe", probe)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoSealer, err)
	}
	if got, err := s.Open("probe", sealed); err != nil || !bytes.Equal(got, probe) {
		return nil, fmt.Errorf("%w: systemd-creds round trip failed", errNoSealer)
	}
	return s, nil
}

func (systemdCreds) Name() string { return "systemd-creds" }

func (s systemdCreds) run(stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.Command(s.path, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("systemd-creds %s: %v: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

func (s systemdCreds) Seal(name string, plain []byte) ([]byte, error) {
	return s.run(plain, "encrypt", "--name=sealprint-"+name, "-", "-")
}

func (s systemdCreds) Open(name string, sealed []byte) ([]byte, error) {
	return s.run(sealed, "decrypt", "--name=sealprint-"+name, "-", "-")
}
