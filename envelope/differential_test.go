package envelope

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// The fast seal path writes its own packets; go-crypto's EncryptWithParams
// is the reference. These tests seal the same input both ways and compare
// every packet and every signature subpacket, leaving out only what is
// random by design (public-key and S2K encryption material, the CFB prefix).

// rawPacket is one OpenPGP packet: its tag and its whole body (partial
// lengths joined).
type rawPacket struct {
	tag  byte
	body []byte
}

// splitPackets cuts a binary OpenPGP stream into packets (RFC 9580 §4.2,
// old and new formats, partial body lengths).
func splitPackets(b []byte) ([]rawPacket, error) {
	var out []rawPacket
	for len(b) > 0 {
		h := b[0]
		if h&0x80 == 0 {
			return nil, errors.New("not a packet header")
		}
		b = b[1:]
		var p rawPacket
		if h&0x40 == 0 { // old format
			p.tag = (h >> 2) & 0x0f
			var n int
			switch h & 3 {
			case 0:
				n = 1
			case 1:
				n = 2
			case 2:
				n = 4
			case 3:
				p.body, b = b, nil
				out = append(out, p)
				continue
			}
			if len(b) < n {
				return nil, errors.New("short length")
			}
			var l uint64
			for _, c := range b[:n] {
				l = l<<8 | uint64(c)
			}
			b = b[n:]
			if uint64(len(b)) < l {
				return nil, errors.New("short body")
			}
			p.body, b = b[:l], b[l:]
			out = append(out, p)
			continue
		}
		p.tag = h & 0x3f
		for {
			if len(b) == 0 {
				return nil, errors.New("short length")
			}
			var l uint64
			partial := false
			switch c := b[0]; {
			case c < 192:
				l, b = uint64(c), b[1:]
			case c < 224:
				if len(b) < 2 {
					return nil, errors.New("short length")
				}
				l, b = uint64(c-192)<<8+uint64(b[1])+192, b[2:]
			case c == 255:
				if len(b) < 5 {
					return nil, errors.New("short length")
				}
				l, b = uint64(binary.BigEndian.Uint32(b[1:5])), b[5:]
			default:
				l, b, partial = 1<<(c&0x1f), b[1:], true
			}
			if uint64(len(b)) < l {
				return nil, errors.New("short body")
			}
			p.body = append(p.body, b[:l]...)
			b = b[l:]
			if !partial {
				break
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// subpacket is one signature subpacket.
type subpacket struct {
	typ      byte // without the critical bit
	critical bool
	data     []byte
}

func (s subpacket) String() string {
	return fmt.Sprintf("type %d critical=%v %s", s.typ, s.critical, hex.EncodeToString(s.data))
}

func splitSubpackets(b []byte) ([]subpacket, error) {
	var out []subpacket
	for len(b) > 0 {
		var l int
		switch c := b[0]; {
		case c < 192:
			l, b = int(c), b[1:]
		case c < 255:
			if len(b) < 2 {
				return nil, errors.New("short subpacket length")
			}
			l, b = int(c-192)<<8+int(b[1])+192, b[2:]
		default:
			if len(b) < 5 {
				return nil, errors.New("short subpacket length")
			}
			l, b = int(binary.BigEndian.Uint32(b[1:5])), b[5:]
		}
		if l < 1 || len(b) < l {
			return nil, errors.New("bad subpacket length")
		}
		out = append(out, subpacket{typ: b[0] & 0x7f, critical: b[0]&0x80 != 0, data: b[1:l]})
		b = b[l:]
	}
	return out, nil
}

// v4Signature is a parsed version 4 signature packet.
type v4Signature struct {
	head     []byte // version, type, public-key and hash algorithms
	hashed   []subpacket
	unhashed []subpacket
	left16   []byte
	mpis     []byte
}

func parseV4Signature(body []byte) (*v4Signature, error) {
	if len(body) < 6 || body[0] != 4 {
		return nil, errors.New("not a v4 signature")
	}
	s := &v4Signature{head: body[:4]}
	hl := int(binary.BigEndian.Uint16(body[4:6]))
	rest := body[6:]
	if len(rest) < hl+2 {
		return nil, errors.New("short hashed area")
	}
	var err error
	if s.hashed, err = splitSubpackets(rest[:hl]); err != nil {
		return nil, err
	}
	rest = rest[hl:]
	ul := int(binary.BigEndian.Uint16(rest[:2]))
	rest = rest[2:]
	if len(rest) < ul+2 {
		return nil, errors.New("short unhashed area")
	}
	if s.unhashed, err = splitSubpackets(rest[:ul]); err != nil {
		return nil, err
	}
	rest = rest[ul:]
	s.left16, s.mpis = rest[:2], rest[2:]
	return s, nil
}

// sealedParts is what the comparison looks at in one sealed message.
type sealedParts struct {
	outer []rawPacket // PKESK, SKESK, SEIPD
	inner []rawPacket // one-pass signature, literal data, signature
	keys  [][]byte    // session key recovered from each PKESK/SKESK, cipher byte first
}

// dissect decrypts every key packet with the given keys or secrets (the
// n-th SKESK with the n-th secret) and the SEIPD packet with the session
// key, and splits what is inside.
func dissect(t testing.TB, ct []byte, recipients []*Key, secrets []string, sessionKey []byte) *sealedParts {
	t.Helper()
	outer, err := splitPackets(ct)
	if err != nil {
		t.Fatalf("split message: %v", err)
	}
	parts := &sealedParts{outer: outer}
	r := packet.NewReader(bytes.NewReader(ct))
	var cipher packet.CipherFunction
	for {
		p, err := r.Next()
		if err != nil {
			t.Fatalf("read packet: %v", err)
		}
		switch p := p.(type) {
		case *packet.EncryptedKey:
			var found bool
			for _, k := range recipients {
				for _, dk := range k.entity.DecryptionKeys(p.KeyId, time.Time{}, nil) {
					if err := p.Decrypt(dk.PrivateKey, nil); err != nil {
						t.Fatalf("decrypt PKESK: %v", err)
					}
					found = true
				}
			}
			if !found {
				t.Fatalf("PKESK for unknown key %016X", p.KeyId)
			}
			cipher = p.CipherFunc
			parts.keys = append(parts.keys, append([]byte{byte(p.CipherFunc)}, p.Key...))
		case *packet.SymmetricKeyEncrypted:
			if len(secrets) == 0 {
				t.Fatal("more SKESK packets than link secrets")
			}
			k, c, err := p.Decrypt([]byte(secrets[0]))
			secrets = secrets[1:]
			if err != nil {
				t.Fatalf("decrypt SKESK: %v", err)
			}
			cipher = c
			parts.keys = append(parts.keys, append([]byte{byte(c)}, k...))
		case *packet.SymmetricallyEncrypted:
			rc, err := p.Decrypt(cipher, sessionKey)
			if err != nil {
				t.Fatalf("decrypt SEIPD: %v", err)
			}
			inner, err := io.ReadAll(rc)
			if err != nil {
				t.Fatalf("read SEIPD: %v", err)
			}
			if err := rc.Close(); err != nil {
				t.Fatalf("MDC: %v", err)
			}
			if parts.inner, err = splitPackets(inner); err != nil {
				t.Fatalf("split SEIPD contents: %v", err)
			}
			return parts
		}
	}
}

// diffSealed seals the same input through both paths and reports every
// difference outside the random fields.
func diffSealed(t testing.TB, plain []byte, opts SealOptions) (fast, lib *sealedParts) {
	t.Helper()
	run := func(library bool) (*sealedParts, []byte) {
		libMu.Lock()
		libraryOnly = library
		o := opts
		o.Rand = newTestRand(7)
		var buf bytes.Buffer
		w, err := Seal(&buf, o)
		if err == nil {
			if _, err = w.Write(plain); err == nil {
				err = w.Close()
			}
		}
		libraryOnly = false
		libMu.Unlock()
		if err != nil {
			t.Fatalf("seal (library=%v): %v", library, err)
		}
		secrets, _ := opts.linkSecrets()
		return dissect(t, buf.Bytes(), opts.Recipients, secrets, w.SessionKey()), w.SessionKey()
	}
	fast, fk := run(false)
	lib, lk := run(true)
	if !bytes.Equal(fk, lk) {
		t.Fatal("session keys differ with the same randomness")
	}
	comparePackets(t, "outer", fast.outer, lib.outer, outerFixed)
	if len(fast.keys) != len(lib.keys) {
		t.Fatalf("%d key packets vs %d", len(fast.keys), len(lib.keys))
	}
	for i := range fast.keys {
		if !bytes.Equal(fast.keys[i], lib.keys[i]) {
			t.Errorf("key packet %d wraps a different cipher or session key", i)
		}
	}
	comparePackets(t, "inner", fast.inner, lib.inner, nil)
	return fast, lib
}

// outerFixed returns the part of an outer packet that is not random.
func outerFixed(p rawPacket) []byte {
	switch p.tag {
	case 1: // PKESK v3: version, key id, algorithm; then encrypted material
		return p.body[:min(len(p.body), 10)]
	case 3: // SKESK v4: version, cipher, S2K type, hash; then salt…
		return p.body[:min(len(p.body), 4)]
	case 18: // SEIPD v1: version; then ciphertext
		return p.body[:min(len(p.body), 1)]
	}
	return p.body
}

func comparePackets(t testing.TB, where string, fast, lib []rawPacket, fixed func(rawPacket) []byte) {
	t.Helper()
	if len(fast) != len(lib) {
		t.Fatalf("%s: fast path wrote %d packets, go-crypto %d", where, len(fast), len(lib))
	}
	for i := range fast {
		f, l := fast[i], lib[i]
		if f.tag != l.tag {
			t.Fatalf("%s packet %d: tag %d vs %d", where, i, f.tag, l.tag)
		}
		if f.tag == 2 {
			compareSignatures(t, fmt.Sprintf("%s packet %d", where, i), f.body, l.body)
			continue
		}
		fb, lb := f.body, l.body
		if fixed != nil {
			fb, lb = fixed(f), fixed(l)
		}
		if !bytes.Equal(fb, lb) {
			t.Errorf("%s packet %d (tag %d) differs:\nfast %x\nlib  %x", where, i, f.tag, head(fb), head(lb))
		}
	}
}

func compareSignatures(t testing.TB, where string, fb, lb []byte) {
	t.Helper()
	f, err := parseV4Signature(fb)
	if err != nil {
		t.Fatalf("%s: fast: %v", where, err)
	}
	l, err := parseV4Signature(lb)
	if err != nil {
		t.Fatalf("%s: library: %v", where, err)
	}
	if !bytes.Equal(f.head, l.head) {
		t.Errorf("%s: header %x vs %x", where, f.head, l.head)
	}
	for _, area := range []struct {
		name string
		f, l []subpacket
	}{{"hashed", f.hashed, l.hashed}, {"unhashed", f.unhashed, l.unhashed}} {
		if len(area.f) != len(area.l) {
			t.Errorf("%s: %s subpackets:\nfast %v\nlib  %v", where, area.name, area.f, area.l)
			continue
		}
		for i := range area.f {
			a, b := area.f[i], area.l[i]
			if a.typ != b.typ || a.critical != b.critical || !bytes.Equal(a.data, b.data) {
				t.Errorf("%s: %s subpacket %d: fast %v, lib %v", where, area.name, i, a, b)
			}
		}
	}
	// EdDSA and RSA signatures are deterministic: same hash, same bytes.
	if algo := f.head[2]; algo == byte(packet.PubKeyAlgoEdDSA) || algo == byte(packet.PubKeyAlgoRSA) {
		if !bytes.Equal(f.left16, l.left16) || !bytes.Equal(f.mpis, l.mpis) {
			t.Errorf("%s: signature values differ", where)
		}
	}
}

func head(b []byte) []byte { return b[:min(len(b), 64)] }

// intendedRecipients returns the fingerprints in the Intended Recipient
// subpackets of the message's signature.
func intendedRecipients(t testing.TB, parts *sealedParts) []string {
	t.Helper()
	var out []string
	for _, p := range parts.inner {
		if p.tag != 2 {
			continue
		}
		s, err := parseV4Signature(p.body)
		if err != nil {
			t.Fatal(err)
		}
		for _, sp := range s.hashed {
			if sp.typ == 35 && len(sp.data) > 1 {
				out = append(out, fmt.Sprintf("%X", sp.data[1:]))
			}
		}
	}
	return out
}

// libMu serialises the tests that flip libraryOnly.
var libMu sync.Mutex

// testRand is a deterministic stream: the same seed gives both paths the
// same session key.
type testRand struct {
	seed, n uint64
	buf     []byte
}

func newTestRand(seed uint64) *testRand { return &testRand{seed: seed} }

func (r *testRand) Read(p []byte) (int, error) {
	for i := range p {
		if len(r.buf) == 0 {
			var b [16]byte
			binary.BigEndian.PutUint64(b[:8], r.seed)
			binary.BigEndian.PutUint64(b[8:], r.n)
			r.n++
			s := sha256.Sum256(b[:])
			r.buf = s[:]
		}
		p[i], r.buf = r.buf[0], r.buf[1:]
	}
	return len(p), nil
}

var (
	diffKeysOnce sync.Once
	diffSender   *Key
	diffRecips   []*Key
)

func diffKeys(t testing.TB) (*Key, []*Key) {
	diffKeysOnce.Do(func() {
		diffSender = mustKey(t, "Dr Claire Durand", "claire.durand@chu.example", nil)
		for _, a := range []string{"bob@police.example", "carol@police.example", "dave@gendarmerie.example"} {
			diffRecips = append(diffRecips, mustKey(t, "R", a, nil))
		}
	})
	return diffSender, diffRecips
}

func TestFastSealMatchesLibrary(t *testing.T) {
	sender, recips := diffKeys(t)
	secret := mustSecret(t)
	more := []string{mustSecret(t), mustSecret(t), mustSecret(t)}
	now := time.Now().Add(time.Hour).Truncate(time.Second)
	clock := func() time.Time { return now }
	for _, tc := range []struct {
		name    string
		to      []*Key
		secret  string
		secrets []string
	}{
		{"one recipient", recips[:1], "", nil},
		{"three recipients", recips, "", nil},
		{"recipients and link secret", recips[:2], secret, nil},
		{"link secret only", nil, secret, nil},
		{"a link secret per recipient", nil, secret, more},
		{"recipients and a link secret each for others", recips[:1], "", more},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plain := bytes.Repeat([]byte("%PDF-1.7 rapport "), 5000)
			fast, _ := diffSealed(t, plain, SealOptions{Signer: sender, Recipients: tc.to, Secret: tc.secret, Secrets: tc.secrets,
				FileName: "rapport.pdf", ModTime: now.Add(-time.Hour), Now: clock})
			got := intendedRecipients(t, fast)
			if len(got) != len(tc.to) {
				t.Fatalf("fast path: %d intended recipients for %d recipients: %v", len(got), len(tc.to), got)
			}
			for i, k := range tc.to {
				if got[i] != k.Fingerprint() {
					t.Errorf("intended recipient %d = %s, want %s", i, got[i], k.Fingerprint())
				}
			}
		})
	}
}

// FuzzSealDifferential seals arbitrary content, names and recipient sets
// through both paths: any difference outside the random fields fails.
func FuzzSealDifferential(f *testing.F) {
	f.Add([]byte("hello"), "r.pdf", uint8(1), false, int64(1700000000))
	f.Add(bytes.Repeat([]byte{0}, 70000), "", uint8(3), true, int64(0))
	f.Add([]byte{}, "../../x\x00y", uint8(0), true, int64(-5))
	f.Fuzz(func(t *testing.T, plain []byte, name string, n uint8, link bool, mod int64) {
		sender, recips := diffKeys(t)
		to := recips[:int(n)%(len(recips)+1)]
		secret := ""
		var more []string
		if link || len(to) == 0 {
			secret = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
			// n also picks how many more link secrets (0 to 2).
			for i := 0; i < int(n/4)%3; i++ {
				more = append(more, "0123456789abcdefghijklmnopqrstuvwxyzABCDE"+string(rune('a'+i))+"A")
			}
		}
		now := time.Now().Add(time.Hour).Truncate(time.Second)
		if mod < 0 || mod > 1<<32-1 {
			mod = 0
		}
		diffSealed(t, plain, SealOptions{Signer: sender, Recipients: to, Secret: secret, Secrets: more, FileName: name,
			ModTime: time.Unix(mod, 0), Now: func() time.Time { return now }})
	})
}
