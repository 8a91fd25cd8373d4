// Package fetch reads the inputs of batch ingest jobs from places ragd does
// not trust: URLs on the network ([Fetcher]) and folders on the server
// ([Roots]).
//
// A Fetcher allows only http and https, only the allow-listed ports, and only
// public unicast addresses: the address policy is enforced in the dialer's
// Control hook on the address actually being connected, for every
// connection, including every redirect hop, so a name that resolves to a
// private address, or re-resolves to one (DNS rebinding), is refused before
// any packet leaves. Bodies are capped in size and fetches in time.
//
// Roots opens folders with os.Root: a path that leaves its root by "..", an
// absolute path, a symlink pointing out or a symlink loop is refused, and
// only regular files are read.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ragd/ragd"
)

// Defaults for [Config].
const (
	DefaultMaxBytes      = 50 << 20
	DefaultTimeout       = 60 * time.Second
	DefaultHeaderTimeout = 15 * time.Second
	DefaultDialTimeout   = 10 * time.Second
	DefaultMaxRedirects  = 5
	DefaultUserAgent     = "ragd (+https://github.com/ragd/ragd)"
)

// Resolver looks up the addresses of a host name. *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Config configures a [Fetcher]. The zero value is the safe default.
type Config struct {
	// MaxBytes caps a response body [50 MB].
	MaxBytes int64
	// Timeout caps a whole fetch, redirects and body included [60 s].
	Timeout time.Duration
	// HeaderTimeout caps the wait for response headers after the request
	// was written [15 s].
	HeaderTimeout time.Duration
	// DialTimeout caps one connection attempt [10 s].
	DialTimeout time.Duration
	// MaxRedirects caps redirects followed [5].
	MaxRedirects int
	// Ports is the port allow-list [80, 443].
	Ports []int
	// Allow lists address ranges that may be fetched although they are not
	// public (an intranet wiki, say). Cloud metadata addresses stay refused
	// unless a prefix names the single address.
	Allow []netip.Prefix
	// Resolver resolves host names [net.Resolver{}].
	Resolver Resolver
	// UserAgent is sent with every request.
	UserAgent string
}

// Fetcher fetches untrusted URLs under an address, port, size and time
// policy. It is safe for concurrent use.
type Fetcher struct {
	cfg      Config
	policy   policy
	resolver Resolver
	dialer   net.Dialer
	client   *http.Client
}

// New returns a Fetcher for cfg, with defaults for its zero fields.
func New(cfg Config) (*Fetcher, error) {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = DefaultHeaderTimeout
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.MaxRedirects <= 0 {
		cfg.MaxRedirects = DefaultMaxRedirects
	}
	if len(cfg.Ports) == 0 {
		cfg.Ports = []int{80, 443}
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	f := &Fetcher{cfg: cfg, resolver: cfg.Resolver}
	if f.resolver == nil {
		f.resolver = &net.Resolver{}
	}
	f.policy.ports = make(map[uint16]bool, len(cfg.Ports))
	for _, p := range cfg.Ports {
		if p < 1 || p > 65535 {
			return nil, ragd.Errorf(ragd.EInvalid, "fetch port %d is out of range", p)
		}
		f.policy.ports[uint16(p)] = true
	}
	for _, p := range cfg.Allow {
		if !p.IsValid() {
			return nil, ragd.Errorf(ragd.EInvalid, "fetch allow-list has an invalid prefix")
		}
		f.policy.allow = append(f.policy.allow, p.Masked())
	}
	f.dialer = net.Dialer{Timeout: cfg.DialTimeout, Control: f.control}
	transport := &http.Transport{
		Proxy:                  nil, // never a proxy from the environment
		DialContext:            f.dialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    cfg.DialTimeout,
		ResponseHeaderTimeout:  cfg.HeaderTimeout,
		MaxResponseHeaderBytes: 1 << 20,
		// One connection per request: every request dials, so every
		// request's address passes the policy.
		DisableKeepAlives: true,
	}
	f.client = &http.Client{Transport: transport, CheckRedirect: f.checkRedirect}
	return f, nil
}

// Page is a fetched response.
type Page struct {
	// URL is the final URL, after redirects.
	URL string
	// ContentType is the media type the server declared, without parameters.
	ContentType string
	Status      int
	Data        []byte
}

// Fetch GETs rawURL and returns its body. Errors are *ragd.Error with an
// *[Error] cause naming the reason: EForbidden (ssrf), EInvalid
// (invalid_url, too_many_redirects, 4xx), ENotFound (404, 410), ETooLarge
// (too_large), ERateLimited (429), EUpstream (timeout, unreachable, 5xx). When
// ctx ends first, the error is ctx's.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (*Page, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, f.fail(&Error{Reason: ReasonInvalidURL, Source: rawURL, Err: err})
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return nil, f.fail(&Error{Reason: ReasonSSRF, Source: rawURL, Err: fmt.Errorf("scheme %q is not allowed", u.Scheme)})
	}
	if u.Hostname() == "" {
		return nil, f.fail(&Error{Reason: ReasonInvalidURL, Source: rawURL, Err: errors.New("no host")})
	}
	if err := f.checkURL(u); err != nil {
		return nil, f.fail(err)
	}
	fctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(fctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, f.fail(&Error{Reason: ReasonInvalidURL, Source: rawURL, Err: err})
	}
	req.Header.Set("User-Agent", f.cfg.UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/pdf,text/markdown,text/plain;q=0.9,*/*;q=0.5")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, f.transportError(ctx, rawURL, err)
	}
	defer resp.Body.Close()
	final := resp.Request.URL.String()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, f.fail(&Error{Reason: ReasonHTTPStatus, Source: rawURL, Status: resp.StatusCode})
	}
	if resp.ContentLength > f.cfg.MaxBytes {
		return nil, f.fail(&Error{Reason: ReasonTooLarge, Source: rawURL,
			Err: fmt.Errorf("content-length %d over %d", resp.ContentLength, f.cfg.MaxBytes)})
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, f.cfg.MaxBytes+1))
	if err != nil {
		return nil, f.transportError(ctx, rawURL, err)
	}
	if int64(len(data)) > f.cfg.MaxBytes {
		return nil, f.fail(&Error{Reason: ReasonTooLarge, Source: rawURL,
			Err: fmt.Errorf("body over %d bytes", f.cfg.MaxBytes)})
	}
	ct := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		ct = mt
	}
	return &Page{URL: final, ContentType: ct, Status: resp.StatusCode, Data: data}, nil
}

// checkURL applies the scheme and port allow-lists and, for IP literals in
// any form a resolver would accept, the address policy.
func (f *Fetcher) checkURL(u *url.URL) *Error {
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return &Error{Reason: ReasonSSRF, Source: u.String(), Err: fmt.Errorf("scheme %q is not allowed", u.Scheme)}
	}
	port, err := urlPort(u)
	if err != nil {
		return &Error{Reason: ReasonInvalidURL, Source: u.String(), Err: err}
	}
	if !f.policy.allowedPort(port) {
		return &Error{Reason: ReasonSSRF, Source: u.String(), Err: fmt.Errorf("port %d is not allowed", port)}
	}
	if ip, ok := parseIPHost(u.Hostname()); ok && !f.policy.allowedAddr(ip) {
		return &Error{Reason: ReasonSSRF, Source: u.String(), Err: fmt.Errorf("address %s is not allowed", ip)}
	}
	return nil
}

// urlPort returns u's port, or its scheme's default.
func urlPort(u *url.URL) (uint16, error) {
	p := u.Port()
	if p == "" {
		if strings.EqualFold(u.Scheme, "https") {
			return 443, nil
		}
		return 80, nil
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("bad port %q", p)
	}
	return uint16(n), nil
}

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.cfg.MaxRedirects {
		return &Error{Reason: ReasonRedirects, Source: via[0].URL.String(),
			Err: fmt.Errorf("stopped after %d redirects", f.cfg.MaxRedirects)}
	}
	if e := f.checkURL(req.URL); e != nil {
		return e
	}
	return nil
}

// dialContext resolves addr's host and connects to its first allowed
// address. The address check here gives a clear error early; the Control
// hook re-checks the address actually connected to.
func (f *Fetcher) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &Error{Reason: ReasonInvalidURL, Source: addr, Err: err}
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, &Error{Reason: ReasonInvalidURL, Source: addr, Err: err}
	}
	var ips []netip.Addr
	if ip, ok := parseIPHost(host); ok {
		ips = []netip.Addr{ip}
	} else {
		ips, err = f.resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, &Error{Reason: ReasonUnreachable, Source: host, Err: err}
		}
	}
	var lastErr error
	refused := 0
	for _, ip := range ips {
		if !f.policy.allowedAddr(ip) {
			refused++
			continue
		}
		conn, err := f.dialer.DialContext(ctx, network, netip.AddrPortFrom(ip.Unmap(), uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	if lastErr == nil {
		if refused > 0 {
			return nil, &Error{Reason: ReasonSSRF, Source: host, Err: errors.New("every address of the host is internal")}
		}
		return nil, &Error{Reason: ReasonUnreachable, Source: host, Err: errors.New("no addresses")}
	}
	return nil, lastErr
}

// control runs after the socket is created and before it connects: the one
// place that sees the exact address being connected to.
func (f *Fetcher) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &Error{Reason: ReasonSSRF, Source: address, Err: err}
	}
	if !f.policy.allowedPort(ap.Port()) {
		return &Error{Reason: ReasonSSRF, Source: address, Err: errors.New("port not allowed")}
	}
	if !f.policy.allowedAddr(ap.Addr()) {
		return &Error{Reason: ReasonSSRF, Source: address, Err: errors.New("address not allowed")}
	}
	return nil
}

// transportError classifies an error from the client or the body read.
func (f *Fetcher) transportError(ctx context.Context, rawURL string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var fe *Error
	if errors.As(err, &fe) {
		e := *fe
		e.Source = rawURL
		e.Err = err
		return f.fail(&e)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()) {
		return f.fail(&Error{Reason: ReasonTimeout, Source: rawURL, Err: err})
	}
	return f.fail(&Error{Reason: ReasonUnreachable, Source: rawURL, Err: err})
}

// fail wraps e in the *ragd.Error its reason maps to. Messages name the URL
// the user gave and the reason, never resolved addresses.
func (f *Fetcher) fail(e *Error) error {
	switch e.Reason {
	case ReasonSSRF:
		return ragd.WrapError(ragd.EForbidden, e, "fetching %s is not allowed: only http and https on ports %s to public addresses", e.Source, f.portList())
	case ReasonInvalidURL:
		return ragd.WrapError(ragd.EInvalid, e, "%q is not a valid http or https URL", e.Source)
	case ReasonTooLarge:
		return ragd.WrapError(ragd.ETooLarge, e, "%s is larger than %d bytes", e.Source, f.cfg.MaxBytes)
	case ReasonTimeout:
		return ragd.WrapError(ragd.EUpstream, e, "%s did not answer within the time limit", e.Source)
	case ReasonRedirects:
		return ragd.WrapError(ragd.EInvalid, e, "%s redirects more than %d times", e.Source, f.cfg.MaxRedirects)
	case ReasonUnreachable:
		return ragd.WrapError(ragd.EUpstream, e, "%s could not be reached", e.Source)
	case ReasonHTTPStatus:
		code := ragd.EInvalid
		switch {
		case e.Status == http.StatusNotFound || e.Status == http.StatusGone:
			code = ragd.ENotFound
		case e.Status == http.StatusTooManyRequests:
			code = ragd.ERateLimited
		case e.Status >= 500:
			code = ragd.EUpstream
		}
		return ragd.WrapError(code, e, "%s answered with HTTP status %d", e.Source, e.Status)
	}
	return ragd.WrapError(ragd.EInternal, e, "fetching %s failed", e.Source)
}

func (f *Fetcher) portList() string {
	ps := make([]string, len(f.cfg.Ports))
	for i, p := range f.cfg.Ports {
		ps[i] = strconv.Itoa(p)
	}
	return strings.Join(ps, ", ")
}
