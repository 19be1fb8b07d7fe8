package installer

import (
	"context"
	"fmt"
	"strings"
)

// WindowsPrinters registers queues with the Windows print spooler through
// PowerShell's PrintManagement module. Add-Printer -IppURL binds the in-box
// Microsoft IPP Class Driver: no driver or port monitor is installed, so
// the printers survive Windows Protected Print Mode.
type WindowsPrinters struct {
	Run Runner
}

// powershell runs one command with no profile and no prompt.
func (w WindowsPrinters) powershell(ctx context.Context, script string) (string, error) {
	return w.Run.Run(ctx, "powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", script)
}

// psQuote quotes s as a PowerShell single-quoted string.
func psQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Add removes a printer of the same name, then runs Add-Printer -Name NAME
// -IppURL URI.
func (w WindowsPrinters) Add(ctx context.Context, q Queue) error {
	if err := validPrinterName(q.Name); err != nil {
		return err
	}
	if !strings.HasPrefix(q.URI, "http://") && !strings.HasPrefix(q.URI, "https://") {
		return fmt.Errorf("printer %s: Add-Printer -IppURL needs an http URL, not %q", q.Name, q.URI)
	}
	script := fmt.Sprintf("$ErrorActionPreference='Stop'; Get-Printer -Name %[1]s -ErrorAction SilentlyContinue | Remove-Printer; Add-Printer -Name %[1]s -IppURL %[2]s",
		psQuote(q.Name), psQuote(q.URI))
	if q.Info != "" {
		script += "; Set-Printer -Name " + psQuote(q.Name) + " -Comment " + psQuote(q.Info)
	}
	if _, err := w.powershell(ctx, script); err != nil {
		return fmt.Errorf("register printer %s: %w", q.Name, err)
	}
	return nil
}

// Remove runs Remove-Printer -Name NAME.
func (w WindowsPrinters) Remove(ctx context.Context, name string) error {
	if err := validPrinterName(name); err != nil {
		return err
	}
	if _, err := w.powershell(ctx, "$ErrorActionPreference='Stop'; Remove-Printer -Name "+psQuote(name)); err != nil {
		return fmt.Errorf("remove printer %s: %w", name, err)
	}
	return nil
}

// List asks Get-Printer for every printer and its port. An IPP class
// printer's port name is its URL.
func (w WindowsPrinters) List(ctx context.Context) (map[string]string, error) {
	out, err := w.powershell(ctx, "$ErrorActionPreference='Stop'; Get-Printer | ForEach-Object { $_.Name + \"`t\" + $_.PortName }")
	if err != nil {
		return nil, fmt.Errorf("list printers: %w", err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		name, port, ok := strings.Cut(strings.TrimRight(line, "\r"), "\t")
		if ok && name != "" {
			m[name] = port
		}
	}
	return m, nil
}
