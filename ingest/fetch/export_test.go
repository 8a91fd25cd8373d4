package fetch

import (
	"context"
	"net"
	"net/netip"
)

// ParseIPHost exposes parseIPHost to the black-box tests.
func ParseIPHost(host string) (netip.Addr, bool) { return parseIPHost(host) }

// AllowedAddr exposes the address policy of f.
func (f *Fetcher) AllowedAddr(ip netip.Addr) bool { return f.policy.allowedAddr(ip) }

// DialDirect connects to addr with f's dialer, skipping the resolver and the
// early address check, so that tests can prove the Control hook alone
// refuses internal addresses.
func (f *Fetcher) DialDirect(ctx context.Context, addr string) (net.Conn, error) {
	return f.dialer.DialContext(ctx, "tcp", addr)
}
