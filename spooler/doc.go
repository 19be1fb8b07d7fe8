// Package spooler is the durable queue between the printer and the relay.
//
// A print job is acknowledged only once its document is on disk, encrypted
// with a per-file key wrapped by the local spool key, and fsynced. Each job
// then moves through an explicit state machine,
//
//	received → rendered → sealed → uploaded → delivered
//
// with the side states held (waiting for recipients), failed (retried with
// exponential backoff and jitter unless the error is permanent), canceled
// and expired. Every transition is an atomic, fsynced, encrypted record, so
// a restart resumes each unfinished job from its last recorded state.
// Uploads are idempotent on the job id: a crash between the upload and its
// record never creates a second drop.
//
// The stages (render, seal, upload) are injected as small interfaces, so the
// package can be tested with fakes and joined to render, envelope and
// uploader by the caller. Plaintext is never written to disk: the document
// is decrypted from the spool, rendered, and sealed as one stream.
package spooler
