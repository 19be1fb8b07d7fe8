package uploader

import (
	"context"
	"net"
	"time"

	"github.com/dop251/goja"
)

// pacDNS answers the PAC functions that need the network. Lookups are
// bounded in time; the context is the one of the current evaluation.
type pacDNS struct {
	resolver *net.Resolver
	ctx      context.Context
}

// resolve returns the first IPv4 address of host (or the IP itself), or "".
func (d *pacDNS) resolve(host string) string {
	if ip := net.ParseIP(host); ip != nil {
		return ip.String()
	}
	ctx := d.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	ips, err := d.resolver.LookupIP(ctx, "ip4", host)
	if err != nil || len(ips) == 0 {
		return ""
	}
	return ips[0].String()
}

// myIP returns this host's first non-loopback IPv4 address, as browsers do
// without sending any packet.
func myIP() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

// installPACHelpers defines the standard PAC functions (Netscape's list, as
// implemented by browsers) in vm.
func installPACHelpers(vm *goja.Runtime, dns *pacDNS) error {
	nullable := func(s string) goja.Value {
		if s == "" {
			return goja.Null()
		}
		return vm.ToValue(s)
	}
	for name, f := range map[string]any{
		"dnsResolve":   func(host string) goja.Value { return nullable(dns.resolve(host)) },
		"isResolvable": func(host string) bool { return dns.resolve(host) != "" },
		"myIpAddress":  func() string { return myIP() },
		"alert":        func(string) {},
	} {
		if err := vm.Set(name, f); err != nil {
			return err
		}
	}
	_, err := vm.RunScript("pac-helpers.js", pacHelpersJS)
	return err
}

// pacHelpersJS defines the pure PAC helper functions in JavaScript.
const pacHelpersJS = `
function isPlainHostName(host) { return String(host).indexOf('.') < 0; }
function dnsDomainIs(host, domain) {
	host = String(host).toLowerCase(); domain = String(domain).toLowerCase();
	return host.length >= domain.length && host.substring(host.length - domain.length) === domain;
}
function localHostOrDomainIs(host, hostdom) {
	host = String(host).toLowerCase(); hostdom = String(hostdom).toLowerCase();
	if (host === hostdom) return true;
	return host.indexOf('.') < 0 && hostdom.split('.')[0] === host;
}
function dnsDomainLevels(host) { return String(host).split('.').length - 1; }
function convert_addr(ip) {
	var p = String(ip).split('.');
	if (p.length !== 4) return NaN;
	return ((p[0] & 0xff) * 16777216) + ((p[1] & 0xff) << 16) + ((p[2] & 0xff) << 8) + (p[3] & 0xff);
}
function isInNet(host, pattern, mask) {
	var ip = /^\d+\.\d+\.\d+\.\d+$/.test(host) ? host : dnsResolve(host);
	if (!ip) return false;
	var m = convert_addr(mask);
	return ((convert_addr(ip) & m) >>> 0) === ((convert_addr(pattern) & m) >>> 0);
}
function shExpMatch(str, shexp) {
	var re = '^' + String(shexp).replace(/[.+^${}()|[\]\\\/]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$';
	return new RegExp(re).test(String(str));
}
var __pacDays = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
var __pacMonths = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
function __pacGMT(args) { return args.length > 0 && args[args.length - 1] === 'GMT'; }
function __pacArgs(args) {
	var a = Array.prototype.slice.call(args);
	if (__pacGMT(a)) a.pop();
	return a;
}
function __pacInRange(v, lo, hi) { return lo <= hi ? (v >= lo && v <= hi) : (v >= lo || v <= hi); }
function weekdayRange() {
	var gmt = __pacGMT(arguments), a = __pacArgs(arguments), d = new Date();
	var day = gmt ? d.getUTCDay() : d.getDay();
	var lo = __pacDays.indexOf(String(a[0]).toUpperCase());
	var hi = a.length > 1 ? __pacDays.indexOf(String(a[1]).toUpperCase()) : lo;
	if (lo < 0 || hi < 0) return false;
	return __pacInRange(day, lo, hi);
}
function timeRange() {
	var gmt = __pacGMT(arguments), a = __pacArgs(arguments), d = new Date();
	var now = (gmt ? d.getUTCHours() : d.getHours()) * 3600 + (gmt ? d.getUTCMinutes() : d.getMinutes()) * 60 + (gmt ? d.getUTCSeconds() : d.getSeconds());
	switch (a.length) {
	case 1: return Math.floor(now / 3600) === Number(a[0]);
	case 2: return __pacInRange(Math.floor(now / 3600), Number(a[0]), (Number(a[1]) + 23) % 24);
	case 4: return __pacInRange(now, a[0] * 3600 + a[1] * 60, a[2] * 3600 + a[3] * 60);
	case 6: return __pacInRange(now, a[0] * 3600 + a[1] * 60 + Number(a[2]), a[3] * 3600 + a[4] * 60 + Number(a[5]));
	}
	return false;
}
function dateRange() {
	var gmt = __pacGMT(arguments), a = __pacArgs(arguments), d = new Date();
	var day = gmt ? d.getUTCDate() : d.getDate(), mon = gmt ? d.getUTCMonth() : d.getMonth(), year = gmt ? d.getUTCFullYear() : d.getFullYear();
	function kind(v) {
		if (typeof v === 'string' && __pacMonths.indexOf(v.toUpperCase()) >= 0) return 'm';
		var n = Number(v); return n > 31 ? 'y' : 'd';
	}
	function val(v, k) { return k === 'm' ? __pacMonths.indexOf(String(v).toUpperCase()) : Number(v); }
	function cur(k) { return k === 'm' ? mon : k === 'y' ? year : day; }
	if (a.length === 1) { var k = kind(a[0]); return cur(k) === val(a[0], k); }
	if (a.length === 2) { var k2 = kind(a[0]); return __pacInRange(cur(k2), val(a[0], k2), val(a[1], k2)); }
	var half = a.length / 2, lo = 0, hi = 0, now = 0, mult = [1, 100, 10000];
	if (half !== Math.floor(half) || half > 3) return false;
	for (var i = 0; i < half; i++) {
		var kk = kind(a[i]), w = kk === 'y' ? 10000 : kk === 'm' ? 100 : 1;
		lo += val(a[i], kk) * w; hi += val(a[i + half], kk) * w; now += cur(kk) * w;
	}
	return __pacInRange(now, lo, hi);
}
`
