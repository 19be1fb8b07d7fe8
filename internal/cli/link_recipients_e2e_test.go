package cli

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sealprint/sealprint/internal/testutil"
	"github.com/sealprint/sealprint/spooler"
	"github.com/sealprint/sealprint/web/jobs"
)

// TestLinkPerRecipientThroughServe: a real relay and a real 'sealprint
// serve'; a printed job released by link to two recipients gets one link
// each (one document, one SKESK per secret). Martin opens his in a real
// Chromium: only his line says opened by the recipient, with his own link;
// Blanc's still does not. Blanc then opens hers with 'sealprint open', and
// her line says so too.
func TestLinkPerRecipientThroughServe(t *testing.T) {
	testutil.NeedIntegration(t)
	exe := testutil.NeedTool(t, "chromium")
	relay := startRelayProc(t)
	doctor, officer := newPerson(t), newPerson(t)
	doctor.must("keys", "generate", "--name", "Dr Durand", "--email", "durand@chu.example")
	doctor.must("enroll", "--relay", relay.url, "--token", relay.token(t, "Dr Durand"))
	setConfig(t, doctor, "printer", map[string]any{"own_account_only": false})
	addr := testutil.FreeAddr(t)
	startServe(t, doctor, addr)
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	ippPrint(t, addr, "sealed", me.Username, "rapport-deux-liens", "Rapport médico-légal\nGarde à vue n° 43\n")
	var id string
	waitFor(t, "the job held", func() bool {
		j := jobNamed(doctor.listJobs(), "rapport-deux-liens")
		if j != nil && j.State == spooler.Held {
			id = j.ID
			return true
		}
		return false
	})
	martin, blanc := "martin@police.example", "blanc@justice.example"
	doctor.must("jobs", "release", id, "--link", "--to", martin, "--to", blanc)

	links := map[string]string{}
	waitFor(t, "the upload, with a link per recipient", func() bool {
		j := jobNamed(doctor.listJobs(), "rapport-deux-liens")
		if j == nil || len(j.Deliveries) != 2 {
			return false
		}
		for _, d := range j.Deliveries {
			links[d.Recipient] = d.SecretLink
		}
		return links[martin] != "" && links[blanc] != ""
	})
	j := jobNamed(doctor.listJobs(), "rapport-deux-liens")
	if j.SecretLink != "" || links[martin] == links[blanc] || !strings.HasPrefix(links[martin], j.Link+"#") || !strings.HasPrefix(links[blanc], j.Link+"#") {
		t.Fatalf("links: job %q, %s %q, %s %q", j.SecretLink, martin, links[martin], blanc, links[blanc])
	}
	if out := doctor.must("jobs"); !strings.Contains(out, links[martin]) || !strings.Contains(out, links[blanc]) {
		t.Fatalf("'sealprint jobs' does not list each recipient's link:\n%s", out)
	}

	// Martin opens his link in Chromium.
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.Headless,
		chromedp.DisableGPU, chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("lang", "fr-FR"), chromedp.Flag("accept-lang", "fr-FR"),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true))
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 4*time.Minute) // guards a hung browser only
	defer cancelT()
	if err := chromedp.Do(ctx, chromedp.Navigate(links[martin])); err != nil {
		t.Fatal(err)
	}
	state := func(states ...string) string {
		t.Helper()
		list := `["` + strings.Join(states, `","`) + `"]`
		s, err := chromedp.Run(ctx, chromedp.Poll[string](`(s => `+list+`.includes(s) ? s : null)(document.documentElement.dataset.state)`,
			chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(0)))
		if err != nil {
			t.Fatalf("waiting for page state %v: %v", states, err)
		}
		return s
	}
	if s := state("ready", "decrypted", "error"); s == "ready" {
		if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS(`#open-btn`))); err != nil {
			t.Fatal(err)
		}
	}
	if s := state("decrypted", "error"); s != "decrypted" {
		reason, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.reason || ""`))
		t.Fatalf("page state %q (%s)", s, reason)
	}
	if r, err := chromedp.Run(ctx, chromedp.Poll[string](`document.documentElement.dataset.receipt`,
		chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(0))); err != nil || r != "sent" {
		t.Fatalf("receipt %q, %v", r, err)
	}

	delivery := func(j *jobs.JobView, who string) jobs.RecipientStatus {
		for _, d := range j.Deliveries {
			if d.Recipient == who {
				return d
			}
		}
		return jobs.RecipientStatus{}
	}
	waitFor(t, "Martin's line opened", func() bool {
		return delivery(jobNamed(doctor.listJobs(), "rapport-deux-liens"), martin).State == jobs.DeliveryOpened
	})
	j = jobNamed(doctor.listJobs(), "rapport-deux-liens")
	if m := delivery(j, martin); m.OpenedBy != "recipient" || m.OpenedWith != "link" || m.OpenedAt.IsZero() {
		t.Fatalf("Martin: %+v", m)
	}
	if b := delivery(j, blanc); b.State == jobs.DeliveryOpened || b.OpenedBy != "" {
		t.Fatalf("Blanc's line says opened though only Martin opened: %+v", b)
	}

	// Blanc opens hers with 'sealprint open'.
	officer.must("open", links[blanc], "-o", "got.pdf")
	if b, err := os.ReadFile(filepath.Join(officer.dir, "got.pdf")); err != nil || !strings.HasPrefix(string(b), "%PDF") {
		t.Fatalf("opened: %v", err)
	}
	waitFor(t, "Blanc's line opened", func() bool {
		b := delivery(jobNamed(doctor.listJobs(), "rapport-deux-liens"), blanc)
		return b.State == jobs.DeliveryOpened && b.OpenedBy == "recipient" && b.OpenedWith == "link"
	})
}
