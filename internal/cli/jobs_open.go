package cli

import (
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"

	"github.com/sealprint/sealprint/printer"
	"github.com/sealprint/sealprint/web/jobs"
)

// openJobsPage opens the running service's jobs page in the browser with
// the user's secret (/jobs?key=…; the page swaps it for a cookie and drops
// it from the address bar).
func openJobsPage(e *env) error {
	p, err := openPC(e)
	if err != nil {
		return err
	}
	info, err := jobs.ReadServiceInfo(filepath.Join(p.home, "spool"))
	if err != nil {
		return errors.New("the service is not running: start 'sealprint serve' first")
	}
	secret, err := jobs.LoadOrCreateSecret(p.home)
	if err != nil {
		return err
	}
	page := info.URL + "/jobs"
	if err := launchBrowser(page + "?key=" + url.QueryEscape(secret)); err != nil {
		return fmt.Errorf("open a browser: %w (the page is %s; it needs 'sealprint jobs --open' to sign in)", err, page)
	}
	fmt.Fprintf(e.stdout, "opened %s\n", page)
	return nil
}

// launchBrowser opens u with the desktop's default browser.
func launchBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	case "darwin":
		cmd = exec.Command("open", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}

// currentAccountName names the account running this process.
func currentAccountName() string {
	a, err := printer.CurrentAccount()
	if err != nil {
		return "?"
	}
	return a.Name
}

// jobsOwner is whose jobs the page shows: printer.jobs_user in the config,
// else the account running the service ("*" shows every job).
func jobsOwner(configured string) string {
	if configured == "*" {
		return ""
	}
	if configured != "" {
		return configured
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}
