package recipient_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/sealprint/sealprint/envelope"
	"github.com/sealprint/sealprint/internal/mail"
	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/keyserver"
	"github.com/sealprint/sealprint/relay"
	"github.com/sealprint/sealprint/web/recipient"
)

// realRelay is the real relay (in process, with its middleware, a key
// directory and a real SMTP server) serving the page, with an enrolled
// doctor (the real sealprint binary) and an officer whose key the doctor
// knows.
type realRelay struct {
	cfg      relay.Config
	url      string
	dataDir  string
	smtp     *testutil.SMTPServer
	rec      *recorder
	relayLog *lockedBuffer
	doctor   *sealprintUser
	// officerSecret is the officer's armored secret key file, protected by
	// officerPass.
	officerSecret, officerMail, doctorMail string
}

const officerPass = "correct horse battery"

func startRealRelay(t *testing.T) *realRelay {
	t.Helper()
	r := &realRelay{dataDir: t.TempDir(), doctorMail: "claire.martin@chu-lyon.example", officerMail: "cdt.martin@police.example"}
	r.smtp = testutil.StartSMTP(t, testutil.SMTPOptions{})
	cfg, closer, err := relay.DataDir{Root: r.dataDir}.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closer.Close() })
	ms, err := mail.NewSMTP(r.smtp.URL, "relay@relay.test")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Mail, cfg.MailFrom = ms, "relay@relay.test"
	cfg.CodeParams = &relay.CodeParams{Time: 1, Memory: 64, Threads: 1}
	r.relayLog = &lockedBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(r.relayLog, nil))
	ts := httptest.NewUnstartedServer(nil)
	cfg.PublicURL = "http://" + ts.Listener.Addr().String()
	rs, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	rs.Mount(mux)
	ks, err := keyserver.OpenFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	keyserver.Mount(mux, keyserver.NewHandler(ks, keyserver.Options{PublicURL: cfg.PublicURL, Mail: ms, MailFrom: "relay@relay.test", Logger: cfg.Logger}))
	mux.Handle("/d/", recipient.NewHandler(recipient.Options{TestHooks: true, Logger: cfg.Logger}))
	r.rec = &recorder{next: rs.Wrap(mux)}
	ts.Config.Handler = r.rec
	ts.Start()
	t.Cleanup(func() { ts.Close(); rs.Close() })
	r.cfg, r.url = cfg, cfg.PublicURL

	// The doctor enrols with the organisation's token and IT approves her:
	// the page shows her documents as verified by the organisation.
	_, token, err := relay.CreateToken(context.Background(), cfg.Store,
		relay.TokenSpec{Kind: relay.KindOrg, Name: "CHU de Lyon — UMJ", Org: "CHU de Lyon — UMJ"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.doctor = &sealprintUser{t: t, home: filepath.Join(t.TempDir(), "home"), wd: t.TempDir()}
	r.doctor.run("keys", "generate", "--name", "Dr Claire Martin", "--email", r.doctorMail)
	enrolled := r.doctor.run("enroll", "--relay", cfg.PublicURL, "--token", token)
	id := regexp.MustCompile(`\(sender (s_[0-9a-f]+)\)`).FindStringSubmatch(enrolled)
	if id == nil {
		t.Fatalf("enroll printed %q", enrolled)
	}
	if _, err := relay.ApproveSender(context.Background(), cfg.Store, id[1]); err != nil {
		t.Fatal(err)
	}

	officer, err := envelope.GenerateKey("Cdt Martin", r.officerMail, nil)
	if err != nil {
		t.Fatal(err)
	}
	var pub, sec bytes.Buffer
	officer.WritePublic(&pub, true)
	officer.WriteSecret(&sec, true, []byte(officerPass))
	pubFile := filepath.Join(r.doctor.wd, "martin.asc")
	r.officerSecret = filepath.Join(t.TempDir(), "martin-secret.asc")
	if err := os.WriteFile(pubFile, pub.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.officerSecret, sec.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	r.doctor.run("keys", "import", pubFile)
	return r
}

// file writes a document into the doctor's working directory.
func (r *realRelay) file(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(r.doctor.wd, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}
