// Package keyserver is the relay's key directory: recipients publish their
// OpenPGP keys, proving each email address by a link sent to it, and senders
// find those keys.
//
// The server side speaks the protocols clients already know: the VKS API of
// keys.openpgp.org (/vks/v1/…), HKP (/pks/lookup, /pks/add) for gpg
// --send-keys/--recv-keys, and the Web Key Directory (/.well-known/openpgpkey/…)
// for gpg --locate-keys. Like keys.openpgp.org, it publishes a user ID only
// once its address owner confirmed it, serves identity-free parts of a key
// (primary key, subkeys, revocations) to anyone who knows the fingerprint,
// and strips third-party certifications.
//
// The client side (Lookup, CheckPin) fetches a recipient's key from the relay
// or the WKD of the address's domain and pins its fingerprint on first use.
package keyserver
