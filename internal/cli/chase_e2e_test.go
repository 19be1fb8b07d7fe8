package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealprint/sealprint/deliver"
	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/uploader"
	"github.com/sealprint/sealprint/web/jobs"
)

// chaseRecorder captures the chaser's desktop notifications.
type chaseRecorder struct {
	mu  sync.Mutex
	got []string
}

func (r *chaseRecorder) Notify(title, body string) {
	r.mu.Lock()
	r.got = append(r.got, title+": "+body)
	r.mu.Unlock()
}

func (r *chaseRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// TestChaseThroughRealRelayAndSMTP: a job released from the spool in link
// mode reaches a real 'sealrelay serve' with a real SMTP server; with a
// first delay of 2 s the chaser raises the notification (captured through
// the Notifier interface) and the relay mails the sender; once the drop is
// downloaded, no more chases.
func TestChaseThroughRealRelayAndSMTP(t *testing.T) {
	testutil.NeedIntegration(t)
	smtp := testutil.StartSMTP(t, testutil.SMTPOptions{})
	relayP := startRelayProc(t, "--smtp", smtp.URL, "--mail-from", "relay@relay.example")
	out, err := exec.Command(testutil.Binary(t, "sealrelay"), "token", "create", "--data", relayP.data,
		"--name", "Dr Durand", "--email", "durand@chu.example", "--json").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var tok struct{ Token string }
	json.Unmarshal(out, &tok)
	client, err := uploader.New(relayP.url, tok.Token, uploader.Options{Proxy: "direct"})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := envelope.GenerateKey("Dr Durand", "durand@chu.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := deliver.New(deliver.Options{Signer: signer,
		Recipients: func(context.Context, []string) ([]*envelope.Key, error) { return nil, nil },
		Relay:      func() (*uploader.Client, error) { return client, nil }})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spooler.Open(spooler.Options{Dir: t.TempDir(), Key: bytes.Repeat([]byte{9}, 32),
		Renderer: st, Sealer: st, Deliverer: st, PollInterval: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sp.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; sp.Close() })

	wait := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second) // guards a hung test only
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s never happened", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	id, err := sp.Accept(ctx, spooler.Incoming{Queue: "sealed", Name: "rapport", Format: "text/plain"}, strings.NewReader("Rapport médico-légal\n"))
	if err != nil {
		t.Fatal(err)
	}
	state := func(s spooler.State) func() bool {
		return func() bool { j, err := sp.Get(id); return err == nil && j.State == s }
	}
	wait("held", state(spooler.Held))
	secret, _ := envelope.NewLinkSecret()
	if _, err := sp.ReleaseWith(ctx, id, spooler.Release{To: []string{"opj@police.example"}, LinkSecret: secret,
		Options: spooler.SendOptions{Mode: spooler.ModeLink}}); err != nil {
		t.Fatal(err)
	}
	wait("upload", state(spooler.Uploaded))

	rec := &chaseRecorder{}
	var skew atomic.Int64
	chaser := jobs.NewChaser(sp, jobs.ChaseOptions{
		After: func(string) time.Duration { return 2 * time.Second }, Notifier: rec, Mail: st.Chase,
		Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) },
	})
	go chaser.Run(ctx, 100*time.Millisecond)
	wait("the chase notification", func() bool { return rec.count() == 1 })
	wait("the relay's answer that it mailed", func() bool { m := chaser.Marks(id); return len(m) == 1 && m[0].Mailed })
	// The link's mail to the recipient may arrive after the chase mail:
	// look for the one to the sender.
	var msg testutil.ReceivedMail
	wait("the chase mail to the sender", func() bool {
		for _, m := range smtp.Messages(t) {
			if len(m.To) == 1 && m.To[0] == "durand@chu.example" {
				msg = m
				return true
			}
		}
		return false
	})
	if !strings.Contains(msg.Data, "not opened yet") {
		t.Fatalf("mail to %v:\n%s", msg.To, msg.Data)
	}

	// The recipient downloads it: no chase after that, even past the
	// second delay.
	j, _ := sp.Get(id)
	if _, err := client.Download(ctx, j.DropID, "", &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	wait("the download seen", state(spooler.Delivered))
	skew.Store(int64(24 * time.Hour))
	chaser.Check(ctx)
	if n := rec.count(); n != 1 {
		t.Fatalf("%d notifications after the download", n)
	}
	before := len(smtp.Messages(t))
	chaser.Check(ctx)
	if after := len(smtp.Messages(t)); after != before {
		t.Fatalf("a chase mail after the download (%d → %d)", before, after)
	}
}
