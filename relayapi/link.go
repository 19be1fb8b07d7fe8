package relayapi

import (
	"errors"
	"net/url"
	"strings"
)

// Link returns the address recipients open for a drop: BASE/d/ID. A
// link-mode secret goes after it as the fragment ("#SECRET"), which
// browsers never send to the server.
func Link(base, id string) string {
	return strings.TrimSuffix(base, "/") + "/d/" + id
}

// ErrBadLink is returned by ParseLink for anything but BASE/d/ID[#SECRET].
var ErrBadLink = errors.New("link: want https://RELAY/d/ID[#SECRET]")

// ParseLink splits a link made by Link into the relay's base URL, the drop
// id and the fragment (the link secret, empty in key mode). Its errors never
// quote the link, which may carry the secret.
func ParseLink(link string) (base *url.URL, id, secret string, err error) {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", "", ErrBadLink
	}
	i := strings.LastIndex(u.Path, "/d/")
	if i < 0 || !ValidDropID(strings.TrimSuffix(u.Path[i+3:], "/")) {
		return nil, "", "", ErrBadLink
	}
	id, secret = strings.TrimSuffix(u.Path[i+3:], "/"), u.Fragment
	return &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path[:i]}, id, secret, nil
}
