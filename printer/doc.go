// Package printer is sealprint's IPP Everywhere print service: a driverless
// printer that CUPS, Windows and macOS print to. It speaks IPP/1.0, 1.1 and
// 2.0 over HTTP (github.com/OpenPrinting/goipp for the message codec), one
// queue per URI (/ipp/print/<queue>), and hands every received document to a
// Spooler. A job is acknowledged (and reaches "completed") only once the
// Spooler has stored its document durably, so the operating system's print
// queue never waits for recipients or for the network; delivery progress is
// reported through Server.SetJobMessage as the job-state-message.
//
// Every request is size-limited: the attribute section is bounded and
// counted, document bodies are read as streams and cut at
// Config.MaxDocumentBytes. A malformed request gets an IPP error (or a closed
// connection) and never affects other clients.
package printer
