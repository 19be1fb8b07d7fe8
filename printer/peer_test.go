package printer

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/OpenPrinting/goipp"
)

// fakePeers answers every lookup with one account (or error) and records
// the addresses it was asked about.
type fakePeers struct {
	mu     sync.Mutex
	acct   Account
	err    error
	asked  []netip.AddrPort
	server []netip.AddrPort
}

// become makes every later connection belong to a: the printer looks a
// connection's account up once, so the client's idle connections (owned
// by the previous account) are closed.
func (f *fakePeers) become(a Account) {
	f.mu.Lock()
	f.acct = a
	f.mu.Unlock()
	http.DefaultClient.CloseIdleConnections()
}

func (f *fakePeers) PeerAccount(client, server netip.AddrPort) (Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, client)
	f.server = append(f.server, server)
	return f.acct, f.err
}

var (
	doctor = Account{ID: "uid:1000", Name: "doctor"}
	nurse  = Account{ID: "uid:1001", Name: "nurse"}
	cupsLP = Account{ID: "uid:7", Name: "lp", System: true}
)

// TestPeerAccountRecorded: the job is recorded under the account that owns
// the client's socket, whatever requesting-user-name claims; a system
// spooler is believed when it names the user it prints for.
func TestPeerAccountRecorded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		peer   Account
		claim  string
		wantAs string
	}{
		{"another account claiming the doctor", nurse, "doctor", "nurse"},
		{"the doctor", doctor, "doctor", "doctor"},
		{"no claim", nurse, "", "nurse"},
		{"spooler relaying the nurse's job", cupsLP, "nurse", "nurse"},
		{"spooler naming nobody", cupsLP, "", "lp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peers := &fakePeers{acct: tc.peer}
			sp := &memSpooler{}
			_, addr := startServer(t, sp, Config{Peers: peers})
			r := printJob(t, addr, DefaultQueue, tc.claim, "application/pdf", []byte("%PDF-1.4\n%%EOF\n"))
			wantStatus(t, r, goipp.StatusOk)
			jobs, _ := sp.accepted()
			if len(jobs) != 1 || jobs[0].User != tc.wantAs {
				t.Fatalf("jobs %+v, want one by %q", jobs, tc.wantAs)
			}
			if got := attrOf(t, getJob(t, addr, DefaultQueue, jobIDOf(t, r)), "job-originating-user-name"); got != tc.wantAs {
				t.Errorf("job-originating-user-name %q, want %q", got, tc.wantAs)
			}
			peers.mu.Lock()
			defer peers.mu.Unlock()
			if len(peers.asked) == 0 || !peers.asked[0].Addr().IsLoopback() || peers.server[0].String() != addr {
				t.Errorf("asked about %v → %v, want a loopback client → %s", peers.asked, peers.server, addr)
			}
		})
	}
}

// TestOwnAccountOnly: with OwnAccountOnly, another account's Print-Job,
// Create-Job, Validate-Job, Get-Jobs and Get-Printer-Attributes (which
// names the queue's recipients) are refused with
// client-error-not-authorized and nothing is spooled; the service's own
// account passes. Without OwnAccountOnly, Get-Printer-Attributes needs
// no identification.
func TestOwnAccountOnly(t *testing.T) {
	peers := &fakePeers{acct: nurse}
	sp := &memSpooler{}
	_, addr := startServer(t, sp, Config{Peers: peers, OwnAccountOnly: true, ServiceAccount: doctor})
	pdf := []byte("%PDF-1.4\n%%EOF\n")
	wantStatus(t, printJob(t, addr, DefaultQueue, "doctor", "application/pdf", pdf), goipp.StatusErrorNotAuthorized)
	for _, op := range []goipp.Op{goipp.OpCreateJob, goipp.OpValidateJob, goipp.OpGetJobs} {
		wantStatus(t, call(t, addr, DefaultQueue, newReq(op, addr, DefaultQueue, "doctor"), nil), goipp.StatusErrorNotAuthorized)
	}
	wantStatus(t, call(t, addr, DefaultQueue, newReq(goipp.OpGetPrinterAttributes, addr, DefaultQueue, "doctor"), nil), goipp.StatusErrorNotAuthorized)
	// The spooler relays the nurse's job: still not the doctor's.
	peers.become(cupsLP)
	wantStatus(t, printJob(t, addr, DefaultQueue, "nurse", "application/pdf", pdf), goipp.StatusErrorNotAuthorized)
	wantStatus(t, call(t, addr, DefaultQueue, newReq(goipp.OpGetPrinterAttributes, addr, DefaultQueue, "nurse"), nil), goipp.StatusOk)
	if jobs, _ := sp.accepted(); len(jobs) != 0 {
		t.Fatalf("refused requests spooled %+v", jobs)
	}
	// The spooler relaying the doctor's job, and the doctor directly.
	wantStatus(t, printJob(t, addr, DefaultQueue, `CHU\Doctor`, "application/pdf", pdf), goipp.StatusOk)
	peers.become(doctor)
	wantStatus(t, printJob(t, addr, DefaultQueue, "someone", "application/pdf", pdf), goipp.StatusOk)
	if jobs, _ := sp.accepted(); len(jobs) != 2 || jobs[1].User != "doctor" {
		t.Fatalf("jobs %+v, want two, the second by doctor", jobs)
	}
	wantStatus(t, call(t, addr, DefaultQueue, newReq(goipp.OpGetPrinterAttributes, addr, DefaultQueue, ""), nil), goipp.StatusOk)

	unknown := &fakePeers{err: errors.New("no socket")}
	_, addr = startServer(t, &memSpooler{}, Config{Peers: unknown})
	wantStatus(t, call(t, addr, DefaultQueue, newReq(goipp.OpGetPrinterAttributes, addr, DefaultQueue, ""), nil), goipp.StatusOk)
	if len(unknown.asked) != 0 {
		t.Errorf("Get-Printer-Attributes asked who the client is without OwnAccountOnly")
	}
}

// TestPeerUnknownRefused: a connection whose account cannot be known is
// refused (fail closed); where the OS cannot tell at all, the printer
// keeps requesting-user-name and says so once in its log.
func TestPeerUnknownRefused(t *testing.T) {
	sp := &memSpooler{}
	_, addr := startServer(t, sp, Config{Peers: &fakePeers{err: errors.New("no socket")}})
	wantStatus(t, printJob(t, addr, DefaultQueue, "doctor", "application/pdf", []byte("%PDF-1.4\n")), goipp.StatusErrorNotAuthorized)
	if jobs, _ := sp.accepted(); len(jobs) != 0 {
		t.Fatalf("spooled %+v", jobs)
	}

	var log bytes.Buffer
	var logMu sync.Mutex
	sp = &memSpooler{}
	_, addr = startServer(t, sp, Config{Peers: &fakePeers{err: ErrPeerUnsupported}, OwnAccountOnly: true, ServiceAccount: doctor,
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &log, mu: &logMu}, nil))})
	for range 2 {
		wantStatus(t, printJob(t, addr, DefaultQueue, "doctor", "application/pdf", []byte("%PDF-1.4\n")), goipp.StatusOk)
	}
	if jobs, _ := sp.accepted(); len(jobs) != 2 || jobs[0].User != "doctor" {
		t.Fatalf("jobs %+v", jobs)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if n := strings.Count(log.String(), "cannot be identified on this system"); n != 1 {
		t.Errorf("unsupported logged %d times, want once:\n%s", n, log.String())
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestSameUserName(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"doctor", "doctor", true}, {`CHU\Doctor`, "doctor", true}, {"doctor@CHU.EXAMPLE", "Doctor", true},
		{"doctor", "nurse", false}, {"", "", false}, {"doctor", "", false},
	} {
		if got := SameUserName(tc.a, tc.b); got != tc.want {
			t.Errorf("SameUserName(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

// TestOtherAccountsJobsHidden: an identified account lists and reads only
// its own jobs; the system spooler sees every job.
func TestOtherAccountsJobsHidden(t *testing.T) {
	peers := &fakePeers{acct: doctor}
	sp := &memSpooler{}
	_, addr := startServer(t, sp, Config{Peers: peers})
	setPeer := peers.become
	r := printJob(t, addr, DefaultQueue, "", "application/pdf", samplePDF)
	wantStatus(t, r, goipp.StatusOk)
	doctorJob := jobIDOf(t, r)
	setPeer(nurse)
	wantStatus(t, printJob(t, addr, DefaultQueue, "", "application/pdf", samplePDF), goipp.StatusOk)
	list := func() []string {
		m := newReq(goipp.OpGetJobs, addr, DefaultQueue, "doctor")
		m.Operation.Add(goipp.MakeAttribute("which-jobs", goipp.TagKeyword, goipp.String("all")))
		m.Operation.Add(goipp.MakeAttribute("requested-attributes", goipp.TagKeyword, goipp.String("job-originating-user-name")))
		r := call(t, addr, DefaultQueue, m, nil)
		wantStatus(t, r, goipp.StatusOk)
		var users []string
		for _, g := range r.Groups {
			if g.Tag == goipp.TagJobGroup {
				users = append(users, attrOf(t, g.Attrs, "job-originating-user-name"))
			}
		}
		return users
	}
	if got := list(); len(got) != 1 || got[0] != "nurse" {
		t.Errorf("the nurse lists %v, want only her job", got)
	}
	m := newReq(goipp.OpGetJobAttributes, addr, DefaultQueue, "doctor")
	m.Operation.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(doctorJob)))
	wantStatus(t, call(t, addr, DefaultQueue, m, nil), goipp.StatusErrorNotFound)
	setPeer(cupsLP)
	if got := list(); len(got) != 2 {
		t.Errorf("the spooler lists %v, want both jobs", got)
	}
}

// TestPeerLookedUpOncePerConnection: the socket table is read once per
// connection, not once per request (a keep-alive client printing many
// jobs would pay a scan each), and again for a new connection.
func TestPeerLookedUpOncePerConnection(t *testing.T) {
	peers := &fakePeers{acct: doctor}
	sp := &memSpooler{}
	_, addr := startServer(t, sp, Config{Peers: peers})
	http.DefaultClient.CloseIdleConnections()
	for range 3 {
		wantStatus(t, printJob(t, addr, DefaultQueue, "", "application/pdf", samplePDF), goipp.StatusOk)
	}
	peers.become(nurse)
	wantStatus(t, printJob(t, addr, DefaultQueue, "", "application/pdf", samplePDF), goipp.StatusOk)
	peers.mu.Lock()
	asked := len(peers.asked)
	peers.mu.Unlock()
	if asked != 2 {
		t.Errorf("account looked up %d times for two connections, want 2", asked)
	}
	if jobs, _ := sp.accepted(); len(jobs) != 4 || jobs[2].User != "doctor" || jobs[3].User != "nurse" {
		t.Errorf("jobs %+v, want three by doctor then one by nurse", jobs)
	}
}
