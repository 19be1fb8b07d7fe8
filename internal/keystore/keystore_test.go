package keystore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealprint/sealprint/envelope"
)

type memRing map[string]string

func (m memRing) Get(s, u string) (string, error) {
	v, ok := m[s+"|"+u]
	if !ok {
		return "", errors.New("not found")
	}
	return v, nil
}
func (m memRing) Set(s, u, v string) error { m[s+"|"+u] = v; return nil }
func (m memRing) Delete(s, u string) error { delete(m, s+"|"+u); return nil }

func TestSenderKeyKeyringAndFallback(t *testing.T) {
	k, err := envelope.GenerateKey("Dr A", "a@h.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		ring  Keyring
		where string
	}{{"keyring", memRing{}, "keyring"}, {"fallback", NoKeyring{}, "file"}} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			var notice bytes.Buffer
			s, err := Open(home, Options{Keyring: tc.ring, Notice: &notice})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.SenderKey(nil); !errors.Is(err, ErrNoSenderKey) {
				t.Fatalf("empty store: %v", err)
			}
			where, err := s.SetSenderKey(k, nil)
			if err != nil || where != tc.where {
				t.Fatalf("stored in %q: %v", where, err)
			}
			got, err := s.SenderKey(nil)
			if err != nil || got.Fingerprint() != k.Fingerprint() || !got.IsSecret() {
				t.Fatalf("read back: %v", err)
			}
			if tc.where == "file" {
				if !strings.Contains(notice.String(), "no usable OS keyring") {
					t.Fatalf("no notice: %q", notice.String())
				}
				st, err := os.Stat(filepath.Join(home, "keys", "secrets", "sender-key.secret"))
				if err != nil || st.Mode().Perm() != 0o600 {
					t.Fatalf("secret file mode: %v %v", st, err)
				}
				// Said once only.
				notice.Reset()
				s2, _ := Open(home, Options{Keyring: tc.ring, Notice: &notice})
				s2.SetSenderKey(k, nil)
				if notice.Len() != 0 {
					t.Fatalf("notice repeated: %q", notice.String())
				}
			}
		})
	}
}

func TestSenderKeyPassphrase(t *testing.T) {
	k, _ := envelope.GenerateKey("Dr A", "a@h.example", nil)
	s, _ := Open(t.TempDir(), Options{Keyring: NoKeyring{}})
	if _, err := s.SetSenderKey(k, []byte("correct horse")); err != nil {
		t.Fatal(err)
	}
	b, _ := s.Secrets().Get(senderSecret)
	if keys, _ := envelope.ReadKeys(bytes.NewReader(b)); !keys[0].IsLocked() {
		t.Fatal("secret key stored unprotected")
	}
	if _, err := s.SenderKey(nil); err == nil {
		t.Fatal("opened without passphrase")
	}
	if _, err := s.SenderKey([]byte("wrong")); err == nil {
		t.Fatal("opened with wrong passphrase")
	}
	if _, err := s.SenderKey([]byte("correct horse")); err != nil {
		t.Fatal(err)
	}
}

func TestAddressBookAndPins(t *testing.T) {
	s, _ := Open(t.TempDir(), Options{Keyring: NoKeyring{}})
	bob, _ := envelope.GenerateKey("Bob", "bob@police.example", nil)
	bob2, _ := envelope.GenerateKey("Bob new", "bob@police.example", nil)
	for _, k := range []*envelope.Key{bob, bob2} {
		pub, err := s.AddRecipient(k)
		if err != nil || pub.IsSecret() {
			t.Fatalf("add: %v", err)
		}
	}
	found, _ := s.Find("Bob@Police.example")
	if len(found) != 2 {
		t.Fatalf("found %d keys", len(found))
	}
	if err := s.Pin("bob@police.example", bob.Fingerprint()); err != nil {
		t.Fatal(err)
	}
	found, _ = s.Find("bob@police.example")
	if len(found) != 1 || found[0].Fingerprint() != bob.Fingerprint() {
		t.Fatalf("pin not applied: %v", found)
	}
	if err := s.CheckPin("bob@police.example", bob2.Fingerprint()); !errors.Is(err, ErrKeyChanged) {
		t.Fatalf("changed key accepted: %v", err)
	}
	if found, _ := s.Find(bob2.Fingerprint()); len(found) != 1 {
		t.Fatal("find by fingerprint")
	}
	if found, _ := s.Find(bob2.KeyID()); len(found) != 1 {
		t.Fatal("find by key id")
	}
}
