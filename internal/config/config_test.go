package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadSaveAndOverrides(t *testing.T) {
	home := t.TempDir()
	c, err := Load(home, func(string) string { return "" })
	if err != nil || c.Relay != "" {
		t.Fatalf("empty home: %+v %v", c, err)
	}
	c.Relay, c.Token = "https://relay.example", "secret-token"
	c.Queues = []Queue{{Name: "martin", Recipients: []string{"martin@police.example"}}}
	if err := Save(home, c); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(home, FileName))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("config mode %v: it holds the token", st.Mode())
	}
	env := map[string]string{"SEALPRINT_RELAY": "https://other.example", "SEALPRINT_PROXY": "http://proxy:3128"}
	c2, err := Load(home, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c2.Relay != "https://other.example" || c2.Token != "secret-token" || c2.Proxy != "http://proxy:3128" {
		t.Fatalf("overrides: %+v", c2)
	}
	if q := c2.Queue("martin"); q == nil || q.Recipients[0] != "martin@police.example" {
		t.Fatalf("queue: %+v", q)
	}
	// The file itself keeps what was saved.
	c3, _ := LoadFile(home)
	if c3.Relay != "https://relay.example" {
		t.Fatalf("LoadFile applied overrides: %+v", c3)
	}
	os.WriteFile(filepath.Join(home, FileName), []byte("{not json"), 0o600)
	if _, err := LoadFile(home); err == nil {
		t.Fatal("broken config accepted")
	}
}
