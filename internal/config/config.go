// Package config holds the sender PC's configuration and the locations of
// its state: the config file, the keys and the spool.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sealprint/sealprint/internal/atomicfile"
)

// FileName is the name of the configuration file inside the home directory.
const FileName = "config.json"

// Config is the sender's configuration, stored as JSON in Home()/config.json.
type Config struct {
	// Relay is the base URL of the relay, e.g. https://relay.example.org.
	Relay string `json:"relay,omitempty"`
	// Token is the enrolment token that authenticates this sender.
	Token string `json:"token,omitempty"`
	// Proxy is an explicit proxy URL used for every relay address.
	Proxy string `json:"proxy,omitempty"`
	// ProxyUser is the user name for proxy authentication (Basic, NTLM);
	// the password is kept with the secrets (OS keyring), never here.
	ProxyUser string `json:"proxy_user,omitempty"`
	// PAC is a proxy auto-config file URL or path.
	PAC string `json:"pac,omitempty"`
	// CA is a PEM bundle of extra trusted roots (TLS-inspecting proxies).
	CA string `json:"ca,omitempty"`
	// Queues maps printer queue names to fixed recipients.
	Queues []Queue `json:"queues,omitempty"`
	// Printer holds the print service's settings.
	Printer Printer `json:"printer,omitempty"`
	// PDFSign holds the PAdES signature settings (sealprint pdfsign
	// setup); nil means PDFs are not signed.
	PDFSign *PDFSign `json:"pdfsign,omitempty"`
	// Chase says when to remind the sender of an unopened report.
	Chase Chase `json:"chase,omitzero"`
	// Send holds the release form's defaults.
	Send Send `json:"send,omitzero"`
}

// PDFSign says how the PDFs this PC sends are signed. Exactly one of
// PKCS11 and P12 is set.
type PDFSign struct {
	// PKCS11 names a key on a smart card or HSM.
	PKCS11 *PKCS11 `json:"pkcs11,omitempty"`
	// P12 is the path of a PKCS#12 file (a copy kept in the home
	// directory); its passphrase is with the secrets, never here.
	P12 string `json:"p12,omitempty"`
	// Chain is a PEM file of intermediate CA certificates to send with
	// the signature (a copy kept in the home directory), for keys whose
	// token or file holds only the signer's certificate.
	Chain string `json:"chain,omitempty"`
	// TSA is the RFC 3161 timestamp authority's URL. When set, every
	// signature must carry a timestamp (PAdES B-T): a TSA failure holds
	// the job instead of sending it without one.
	TSA string `json:"tsa,omitempty"`
	// Reason and Location fill the signature's /Reason and /Location.
	Reason   string `json:"reason,omitempty"`
	Location string `json:"location,omitempty"`
	// Visible draws the signature on the first page.
	Visible bool `json:"visible,omitempty"`
}

// PKCS11 names a key pair on a PKCS#11 token. The PIN is never stored:
// it is asked once per process (or read from SEALPRINT_PKCS11_PIN).
type PKCS11 struct {
	// Module is the path of the token's PKCS#11 library.
	Module string `json:"module"`
	// Slot or TokenLabel picks the token.
	Slot       *int   `json:"slot,omitempty"`
	TokenLabel string `json:"token_label,omitempty"`
	// KeyLabel picks the key (CKA_LABEL); empty means the only one.
	KeyLabel string `json:"key_label,omitempty"`
}

// Chase configures the reminders about unopened reports. Durations are
// written like "2h", "90m" or "1d".
type Chase struct {
	// After is the first delay (default 2h); Queues overrides it per
	// printer queue name.
	After  string            `json:"after,omitempty"`
	Queues map[string]string `json:"queues,omitempty"`
	// Again is the second delay from the upload (default twice After).
	Again string `json:"again,omitempty"`
	// QuietHours is a daily window without reminders, "22:00-07:00".
	QuietHours string `json:"quiet_hours,omitempty"`
}

// Send holds the jobs page's release defaults.
type Send struct {
	// Expires is the default drop lifetime ("7d").
	Expires string `json:"expires,omitempty"`
	// MaxDownloads is the default download limit (0: the relay's).
	MaxDownloads int `json:"max_downloads,omitempty"`
}

// Queue is a printer queue whose jobs go to fixed recipients.
type Queue struct {
	Name       string   `json:"name"`
	Recipients []string `json:"recipients"`
}

// Printer holds the settings of the IPP print service.
type Printer struct {
	// Listen is the address of the IPP listener (default 127.0.0.1:8632).
	Listen string `json:"listen,omitempty"`
	// MaxDocumentBytes bounds a document body (default 512 MiB).
	MaxDocumentBytes int64 `json:"max_document_bytes,omitempty"`
	// HostNames are extra names clients may use to reach the printer and
	// the jobs page (besides 127.0.0.1, [::1] and localhost); any other
	// Host or a foreign Origin is refused (DNS rebinding).
	HostNames []string `json:"host_names,omitempty"`
	// JobsUser is whose jobs the jobs page shows: the user recorded for
	// their IPP jobs, that is the local account that printed them
	// (default: the account running the service; "*" for every job).
	JobsUser string `json:"jobs_user,omitempty"`
	// OwnAccountOnly refuses IPP jobs from local accounts other than the
	// one running the service (client-error-not-authorized). Nil means
	// on for a per-user 'sealprint serve' and off for the system service
	// (serve --service), which prints for every account through the OS
	// spooler.
	OwnAccountOnly *bool `json:"own_account_only,omitempty"`
}

// Home returns the directory holding config and state: $SEALPRINT_HOME if
// set, else the machine setting Home (Windows registry), else the user's
// config directory + "/sealprint".
func Home(getenv func(string) string) (string, error) {
	if h := getenv("SEALPRINT_HOME"); h != "" {
		return filepath.Abs(h)
	}
	if m, err := machineSettings(); err != nil {
		return "", err
	} else if h := m[MachineHome]; h != "" {
		return filepath.Abs(h)
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find config directory (set SEALPRINT_HOME): %w", err)
	}
	return filepath.Join(d, "sealprint"), nil
}

// Load reads the config in home. A missing file yields an empty Config.
// The machine settings (Windows registry, see MachineSettings) and then
// environment overrides (SEALPRINT_RELAY, SEALPRINT_TOKEN, SEALPRINT_PROXY,
// SEALPRINT_PAC, SEALPRINT_CA, SEALPRINT_LISTEN, and SEALPRINT_QUEUES as
// "Name=email[,email];…") are applied on top.
func Load(home string, getenv func(string) string) (*Config, error) {
	c, err := LoadFile(home)
	if err != nil {
		return nil, err
	}
	m, err := machineSettings()
	if err != nil {
		return nil, err
	}
	if err := applyMachine(c, m); err != nil {
		return nil, err
	}
	for env, field := range map[string]*string{
		"SEALPRINT_RELAY": &c.Relay,
		"SEALPRINT_TOKEN": &c.Token,
		"SEALPRINT_PROXY": &c.Proxy,
		"SEALPRINT_PAC":   &c.PAC,
		"SEALPRINT_CA":    &c.CA,
	} {
		if v := getenv(env); v != "" {
			*field = v
		}
	}
	if v := getenv("SEALPRINT_LISTEN"); v != "" {
		c.Printer.Listen = v
	}
	if v := getenv("SEALPRINT_QUEUES"); v != "" {
		if err := applyMachine(c, map[string]string{MachineQueues: v}); err != nil {
			return nil, fmt.Errorf("SEALPRINT_QUEUES: %w", err)
		}
	}
	return c, nil
}

// machineSettings is MachineSettings, replaced in tests.
var machineSettings = MachineSettings

// LoadFile reads the config file in home without environment overrides;
// use it before modifying and saving the file.
func LoadFile(home string) (*Config, error) {
	c, err := ReadFile(filepath.Join(home, FileName))
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	return c, err
}

// maxConfigBytes bounds a config file.
const maxConfigBytes = 4 << 20

// ReadFile reads a config file at path (for 'sealprint install --config').
func ReadFile(path string) (*Config, error) {
	var c Config
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if st.Size() > maxConfigBytes {
		return nil, fmt.Errorf("config %s is larger than 4 MiB", path)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("parse config %s: %w", path, err)
	}
	return &c, nil
}

// Save writes the config file in home atomically with mode 0600 (it holds
// the enrolment token).
func Save(home string, c *Config) error {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", home, err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(home, FileName), append(b, '\n'), 0o600)
}

// Queue returns the queue named name, or nil.
func (c *Config) Queue(name string) *Queue {
	for i := range c.Queues {
		if c.Queues[i].Name == name {
			return &c.Queues[i]
		}
	}
	return nil
}

// Merge copies the settings src has into c: src's non-empty fields win,
// and its queues replace c's queues of the same name.
func (c *Config) Merge(src *Config) {
	for _, f := range []struct{ dst, src *string }{
		{&c.Relay, &src.Relay}, {&c.Token, &src.Token}, {&c.Proxy, &src.Proxy},
		{&c.ProxyUser, &src.ProxyUser}, {&c.PAC, &src.PAC}, {&c.CA, &src.CA},
		{&c.Printer.Listen, &src.Printer.Listen},
	} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	if src.Printer.MaxDocumentBytes != 0 {
		c.Printer.MaxDocumentBytes = src.Printer.MaxDocumentBytes
	}
	for _, q := range src.Queues {
		if old := c.Queue(q.Name); old != nil {
			old.Recipients = q.Recipients
		} else {
			c.Queues = append(c.Queues, q)
		}
	}
}
