package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMachineSettingsOverlayFile(t *testing.T) {
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, FileName), []byte(`{"relay":"https://file.example","queues":[{"name":"A","recipients":["old@x.fr"]}]}`), 0o600)
	old := machineSettings
	defer func() { machineSettings = old }()
	machineSettings = func() (map[string]string, error) {
		return map[string]string{MachineRelay: "https://gpo.example", MachineQueues: "A=a@x.fr;B=b@x.fr, c@x.fr"}, nil
	}
	c, err := Load(home, func(k string) string {
		if k == "SEALPRINT_PROXY" {
			return "http://env-proxy:3128"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Relay != "https://gpo.example" || c.Proxy != "http://env-proxy:3128" {
		t.Fatalf("relay %q proxy %q", c.Relay, c.Proxy)
	}
	if len(c.Queues) != 2 || c.Queue("A").Recipients[0] != "a@x.fr" || len(c.Queue("B").Recipients) != 2 {
		t.Fatalf("queues %+v", c.Queues)
	}
	// A malformed machine setting fails closed.
	machineSettings = func() (map[string]string, error) { return map[string]string{MachineQueues: "nobody"}, nil }
	if _, err := Load(home, func(string) string { return "" }); err == nil {
		t.Fatal("malformed Queues setting accepted")
	}
	machineSettings = func() (map[string]string, error) { return map[string]string{MachineHome: home}, nil }
	if h, err := Home(func(string) string { return "" }); err != nil || h != home {
		t.Fatalf("home %q %v", h, err)
	}
}

func TestParseQueue(t *testing.T) {
	for _, bad := range []string{"", "A", "=a@x", "A=", "A= , "} {
		if _, err := ParseQueue(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	q, err := ParseQueue(" OPJ-Lyon = a@x.fr, b@x.fr ")
	if err != nil || q.Name != "OPJ-Lyon" || len(q.Recipients) != 2 {
		t.Fatalf("%+v %v", q, err)
	}
}

func FuzzParseQueues(f *testing.F) {
	f.Add("A=a@x.fr;B=b@x.fr,c@x.fr")
	f.Fuzz(func(t *testing.T, s string) {
		qs, err := ParseQueues(s)
		if err != nil {
			return
		}
		for _, q := range qs {
			if q.Name == "" || len(q.Recipients) == 0 {
				t.Fatalf("empty queue from %q", s)
			}
		}
	})
}
