package fetch

import (
	"net/netip"
	"strconv"
	"strings"
)

// deniedV4 are the IPv4 ranges no URL fetch may connect to unless an
// operator allow-lists them: everything that is not a public unicast
// address on the Internet.
var deniedV4 = mustPrefixes(
	"0.0.0.0/8",          // "this network"; 0.0.0.0 reaches the local host
	"10.0.0.0/8",         // private
	"100.64.0.0/10",      // carrier-grade NAT (also Alibaba's metadata 100.100.100.200)
	"127.0.0.0/8",        // loopback
	"169.254.0.0/16",     // link-local, cloud metadata 169.254.169.254
	"172.16.0.0/12",      // private
	"192.0.0.0/24",       // IETF protocol assignments
	"192.0.2.0/24",       // documentation
	"192.88.99.0/24",     // 6to4 relay anycast
	"192.168.0.0/16",     // private
	"198.18.0.0/15",      // benchmarking
	"198.51.100.0/24",    // documentation
	"203.0.113.0/24",     // documentation
	"224.0.0.0/4",        // multicast
	"240.0.0.0/4",        // reserved
	"255.255.255.255/32", // broadcast
)

// deniedV6 are the IPv6 ranges no URL fetch may connect to. IPv4-mapped
// addresses are unmapped and judged as IPv4; NAT64 and 6to4 addresses are
// judged by the IPv4 address they embed.
var deniedV6 = mustPrefixes(
	"::/96",          // unspecified, loopback and deprecated IPv4-compatible
	"64:ff9b:1::/48", // local-use NAT64
	"100::/64",       // discard
	"2001::/32",      // Teredo: tunnels to arbitrary IPv4 addresses
	"2001:10::/28",   // ORCHID
	"2001:20::/28",   // ORCHIDv2
	"2001:db8::/32",  // documentation
	"3fff::/20",      // documentation
	"5f00::/16",      // segment routing
	"fc00::/7",       // unique local (includes AWS metadata fd00:ec2::254)
	"fe80::/10",      // link-local
	"fec0::/10",      // site-local (deprecated)
	"ff00::/8",       // multicast
)

var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// metadataAddrs are cloud metadata services. They stay refused even inside
// an allow-listed range unless the allow-list names the single address.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, OpenStack, Oracle
	netip.MustParseAddr("169.254.170.2"),   // AWS ECS task metadata
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IPv6
}

func mustPrefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

// policy decides which addresses and ports a fetch may connect to.
type policy struct {
	allow []netip.Prefix
	ports map[uint16]bool
}

// allowedPort reports whether port is on the port allow-list.
func (p *policy) allowedPort(port uint16) bool { return p.ports[port] }

// allowedAddr reports whether ip may be dialed: a public unicast address, or
// one inside an operator's allow-list.
func (p *policy) allowedAddr(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.WithZone("").Unmap()
	for _, a := range p.allow {
		if a.Contains(ip) {
			if isMetadata(ip) && !(a.IsSingleIP() && a.Addr() == ip) {
				return false
			}
			return true
		}
	}
	return publicAddr(ip)
}

func isMetadata(ip netip.Addr) bool {
	for _, m := range metadataAddrs {
		if m == ip {
			return true
		}
	}
	return false
}

// publicAddr reports whether ip (already unmapped) is a public unicast
// address.
func publicAddr(ip netip.Addr) bool {
	if ip.Is4() {
		for _, p := range deniedV4 {
			if p.Contains(ip) {
				return false
			}
		}
		return true
	}
	if nat64.Contains(ip) || sixTo4.Contains(ip) {
		b := ip.As16()
		var v4 [4]byte
		if nat64.Contains(ip) {
			copy(v4[:], b[12:16])
		} else {
			copy(v4[:], b[2:6])
		}
		return publicAddr(netip.AddrFrom4(v4))
	}
	for _, p := range deniedV6 {
		if p.Contains(ip) {
			return false
		}
	}
	return ip.IsGlobalUnicast()
}

// parseIPHost parses the host part of a URL as an IP address the way the
// C library's inet_aton and browsers do, so that forms a resolver would
// accept ("0", "2130706433", "0177.0.0.1", "0x7f.1", "[::ffff:127.0.0.1]")
// are judged as the address they denote rather than sent to DNS. It reports
// false when host is a name.
func parseIPHost(host string) (netip.Addr, bool) {
	h := host
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip, true
	}
	h = strings.TrimSuffix(h, ".")
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip, true
	}
	parts := strings.Split(h, ".")
	if len(parts) == 0 || len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, s := range parts {
		v, ok := parseInetPart(s)
		if !ok {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	// The last part fills the remaining bytes: a.b.c.d, a.b.(16 bits),
	// a.(24 bits), (32 bits).
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 0xff {
			return netip.Addr{}, false
		}
		n |= v << (24 - 8*uint(i))
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*uint(5-len(vals))) {
		return netip.Addr{}, false
	}
	n |= last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

// parseInetPart parses one inet_aton component: decimal, octal with a
// leading 0, or hexadecimal with 0x.
func parseInetPart(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := 10
	digits := s
	switch {
	case len(s) > 1 && (s[:2] == "0x" || s[:2] == "0X"):
		base, digits = 16, s[2:]
		if digits == "" {
			return 0, true // inet_aton accepts a bare "0x" as zero
		}
	case len(s) > 1 && s[0] == '0':
		base, digits = 8, s[1:]
	}
	v, err := strconv.ParseUint(digits, base, 32)
	if err != nil {
		return 0, false
	}
	return v, true
}
