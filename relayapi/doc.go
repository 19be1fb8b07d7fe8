// Package relayapi defines the relay's wire format: the JSON bodies of its
// HTTP API, the shape of drop ids and the format of the links recipients
// open. The relay, the uploader, the delivery stages and the web pages use
// these definitions, so that a field has one type and an id one rule.
//
// It is a leaf package: it imports no other package of this module.
package relayapi
