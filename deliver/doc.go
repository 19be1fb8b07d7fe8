// Package deliver is how a printed page reaches the relay: it implements
// the spooler's stages (Renderer, Sealer, Deliverer) for one sender, with
// render (anything → PDF), pdfsign (PAdES signature and timestamp, when
// configured), envelope (sign + encrypt with OpenPGP) and
// uploader (resumable upload through the proxies, drop status, revocation).
//
// It knows nothing of configuration files or the environment: the caller
// (internal/cli) passes the sender's key, how to find recipients' keys and
// how to reach the relay.
package deliver
