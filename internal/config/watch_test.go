package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestQueueWatcher(t *testing.T) {
	home := t.TempDir()
	queues := QueueWatcher(home)
	has := func(name string) bool {
		for _, q := range queues() {
			if q.Name == name {
				return true
			}
		}
		return false
	}
	if len(queues()) != 0 {
		t.Fatal("queues without a config file")
	}
	if err := Save(home, &Config{Queues: []Queue{{Name: "opj", Recipients: []string{"m@x.example"}}}}); err != nil {
		t.Fatal(err)
	}
	if !has("opj") {
		t.Fatal("added queue not picked up")
	}
	// A broken file keeps the last good queues.
	os.WriteFile(filepath.Join(home, FileName), []byte("{broken"), 0o600)
	if !has("opj") {
		t.Fatal("broken config dropped the queues")
	}
	if err := Save(home, &Config{}); err != nil {
		t.Fatal(err)
	}
	if has("opj") {
		t.Fatal("removed queue still served")
	}
	os.Remove(filepath.Join(home, FileName))
	if len(queues()) != 0 {
		t.Fatal("queues kept after the file was removed")
	}
}
