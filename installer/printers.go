package installer

import (
	"runtime"
)

// SystemPrinters returns the print system of this OS: Windows' spooler
// through PowerShell, or CUPS elsewhere. CUPS' output is parsed in the C
// locale, so env gets LC_ALL=C.
func SystemPrinters(env []string) Printers {
	if runtime.GOOS == "windows" {
		return WindowsPrinters{Run: ExecRunner{Env: env}}
	}
	return CUPS{Run: ExecRunner{Env: append(append([]string(nil), env...), "LC_ALL=C")}}
}

// QueueURI returns the address the print system uses for the sealprint
// queue named queue at listen (host:port): ipp:// for CUPS, http:// for
// Windows' IPP class driver, which takes only http URLs.
func QueueURI(listen, queue string) string {
	scheme := "ipp"
	if runtime.GOOS == "windows" {
		scheme = "http"
	}
	return scheme + "://" + listen + "/ipp/print/" + queue
}
