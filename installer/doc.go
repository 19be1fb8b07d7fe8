// Package installer puts sealprint into the operating system: the
// background service (systemd, the Windows service control manager,
// launchd, through github.com/kardianos/service), the printer queues the
// system's print dialogs show (CUPS lpadmin on Linux and macOS, Add-Printer
// with the in-box Microsoft IPP Class Driver on Windows), and a manifest of
// what was added so that uninstalling removes exactly that.
//
// Every outside command goes through a Runner, so tests can check what is
// run and against which program.
package installer
