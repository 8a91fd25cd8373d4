package fetch_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest/fetch"
)

// countingListener counts the TCP connections it accepts.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// server is an HTTP server on a chosen loopback address that counts the
// connections it accepts.
type server struct {
	ln   *countingListener
	addr netip.AddrPort
}

func (s *server) conns() int64 { return s.ln.n.Load() }

func (s *server) port() int { return int(s.addr.Port()) }

// mustServe serves h on addr ("127.0.0.1:0", "127.0.0.2:0", ...).
func mustServe(tb testing.TB, addr string, h http.Handler) *server {
	tb.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatalf("listen %s: %v", addr, err)
	}
	cl := &countingListener{Listener: ln}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(cl)
	tb.Cleanup(func() { srv.Close() })
	return &server{ln: cl, addr: netip.MustParseAddrPort(ln.Addr().String())}
}

// mustServePair serves pub on 127.0.0.2 (allow-listed in the tests: it
// stands in for a public host) and a counting trap on 127.0.0.1 at the same
// port, so that a rebinding name can point at either.
func mustServePair(tb testing.TB, pub http.Handler) (public, trap *server) {
	tb.Helper()
	for range 20 {
		public = mustServe(tb, "127.0.0.2:0", pub)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", public.port()))
		if err != nil {
			continue
		}
		cl := &countingListener{Listener: ln}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "internal secret")
		})}
		go srv.Serve(cl)
		tb.Cleanup(func() { srv.Close() })
		return public, &server{ln: cl, addr: netip.MustParseAddrPort(ln.Addr().String())}
	}
	tb.Fatal("no free port pair on 127.0.0.1 and 127.0.0.2")
	return nil, nil
}

// stubResolver answers from a table; a name with several answers gives
// them one per lookup, repeating the last.
type stubResolver struct {
	mu      sync.Mutex
	answers map[string][]string
	calls   map[string]int
}

func (r *stubResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = make(map[string]int)
	}
	as, ok := r.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	i := min(r.calls[host], len(as)-1)
	r.calls[host]++
	var out []netip.Addr
	for _, s := range strings.Split(as[i], ",") {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

func mustFetcher(tb testing.TB, cfg fetch.Config) *fetch.Fetcher {
	tb.Helper()
	f, err := fetch.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func wantReason(t *testing.T, err error, reason, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want reason %s", reason)
	}
	if got := fetch.Reason(err); got != reason {
		t.Errorf("reason = %q, want %q (err: %v)", got, reason, err)
	}
	if got := ragd.ErrorCode(err); got != code {
		t.Errorf("code = %q, want %q (err: %v)", got, code, err)
	}
}

// TestFetchSSRF covers RELIABILITY.md S-SSRF-1: every URL is refused with
// reason ssrf and the loopback trap records no connection at all.
func TestFetchSSRF(t *testing.T) {
	hits := atomic.Int64{}
	var public, trap *server
	public, trap = mustServePair(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/to-loopback":
			http.Redirect(w, r, fmt.Sprintf("http://127.0.0.1:%d/", trap.port()), http.StatusFound)
		case "/to-internal-name":
			http.Redirect(w, r, fmt.Sprintf("http://intranet.example.com:%d/", trap.port()), http.StatusFound)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case "/to-mapped":
			http.Redirect(w, r, fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/", trap.port()), http.StatusFound)
		default:
			fmt.Fprint(w, "public page")
		}
	}))
	res := &stubResolver{answers: map[string][]string{
		"public.example.com":   {"127.0.0.2"},
		"docs.example.com":     {"10.0.0.1"},
		"intranet.example.com": {"127.0.0.1"},
		"localhost":            {"127.0.0.1,::1"},
		"mixed.example.com":    {"10.0.0.1,127.0.0.1"},
		"metadata.example.com": {"169.254.169.254"},
	}}
	p := trap.port()
	f := mustFetcher(t, fetch.Config{
		Ports:    []int{80, 443, p, 5432},
		Allow:    []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
		Resolver: res,
		Timeout:  5 * time.Second,
	})
	ctx := context.Background()

	// The allow-listed stand-in for a public host works, so refusals below
	// are the policy's doing.
	page, err := f.Fetch(ctx, fmt.Sprintf("http://public.example.com:%d/", p))
	if err != nil || string(page.Data) != "public page" {
		t.Fatalf("public fetch = %v, %v", page, err)
	}

	urls := []string{
		"http://169.254.169.254/latest/meta-data/",
		fmt.Sprintf("http://169.254.169.254:%d/latest/meta-data/", p),
		"http://127.0.0.1:5432",
		fmt.Sprintf("http://127.0.0.1:%d/", p),
		fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/", p),
		fmt.Sprintf("http://[::1]:%d/", p),
		fmt.Sprintf("http://0:%d/", p),
		fmt.Sprintf("http://0.0.0.0:%d/", p),
		fmt.Sprintf("http://2130706433:%d/", p),
		fmt.Sprintf("http://0177.0.0.1:%d/", p),
		fmt.Sprintf("http://0x7f.1:%d/", p),
		fmt.Sprintf("http://127.1:%d/", p),
		fmt.Sprintf("http://[fe80::1%%25lo]:%d/", p),
		fmt.Sprintf("http://[64:ff9b::7f00:1]:%d/", p),
		fmt.Sprintf("http://[2002:7f00:1::]:%d/", p),
		"file:///etc/passwd",
		fmt.Sprintf("gopher://127.0.0.1:%d/_GET", p),
		fmt.Sprintf("ftp://127.0.0.1:%d/", p),
		fmt.Sprintf("http://docs.example.com:%d/", p),
		fmt.Sprintf("http://intranet.example.com:%d/", p),
		fmt.Sprintf("http://localhost:%d/", p),
		fmt.Sprintf("http://mixed.example.com:%d/", p),
		fmt.Sprintf("http://metadata.example.com:%d/", p),
		fmt.Sprintf("http://public.example.com:%d/to-loopback", p),
		fmt.Sprintf("http://public.example.com:%d/to-internal-name", p),
		fmt.Sprintf("http://public.example.com:%d/to-file", p),
		fmt.Sprintf("http://public.example.com:%d/to-mapped", p),
		"http://127.0.0.2:8080/", // allow-listed address, port not allowed
	}
	for _, u := range urls {
		_, err := f.Fetch(ctx, u)
		wantReason(t, err, fetch.ReasonSSRF, ragd.EForbidden)
		if err != nil && strings.Contains(ragd.ErrorMessage(err), "127.0.0.1") && !strings.Contains(u, "127.0.0.1") {
			t.Errorf("%s: message reveals a resolved address: %q", u, ragd.ErrorMessage(err))
		}
	}
	if n := trap.conns(); n != 0 {
		t.Errorf("loopback trap accepted %d connections, want 0", n)
	}
	if n := public.conns(); n != 5 {
		t.Errorf("public server accepted %d connections, want 5 (1 page, 4 redirects)", n)
	}
}

// TestControlRefusesWithoutPrecheck dials blocked addresses with the
// fetcher's dialer directly: the Control hook alone must refuse them.
func TestControlRefusesWithoutPrecheck(t *testing.T) {
	trap := mustServe(t, "127.0.0.1:0", http.NotFoundHandler())
	f := mustFetcher(t, fetch.Config{Ports: []int{trap.port()}})
	for _, addr := range []string{
		trap.addr.String(),
		fmt.Sprintf("[::ffff:127.0.0.1]:%d", trap.port()),
		fmt.Sprintf("0.0.0.0:%d", trap.port()),
		"127.0.0.1:22", // also a port off the list
	} {
		conn, err := f.DialDirect(context.Background(), addr)
		if err == nil {
			conn.Close()
			t.Errorf("dial %s succeeded", addr)
			continue
		}
		if fetch.Reason(err) != fetch.ReasonSSRF {
			t.Errorf("dial %s: %v, want an ssrf refusal", addr, err)
		}
	}
	if n := trap.conns(); n != 0 {
		t.Errorf("trap accepted %d connections, want 0", n)
	}
}

// TestFetchDNSRebinding covers S-SSRF-2: a name that resolves to a public
// address first and to loopback next is refused on the second dial, both
// on a new fetch and on a redirect within one fetch.
func TestFetchDNSRebinding(t *testing.T) {
	public, trap := mustServePair(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hop" {
			http.Redirect(w, r, "/landing", http.StatusFound)
			return
		}
		fmt.Fprint(w, "public page")
	}))
	res := &stubResolver{answers: map[string][]string{
		"rebind.example.com": {"127.0.0.2", "127.0.0.1"},
		"hop.example.com":    {"127.0.0.2", "127.0.0.1"},
	}}
	f := mustFetcher(t, fetch.Config{
		Ports:    []int{public.port()},
		Allow:    []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
		Resolver: res,
	})
	ctx := context.Background()
	u := fmt.Sprintf("http://rebind.example.com:%d/", public.port())
	if _, err := f.Fetch(ctx, u); err != nil {
		t.Fatalf("first fetch: %v", err)
	}
	_, err := f.Fetch(ctx, u)
	wantReason(t, err, fetch.ReasonSSRF, ragd.EForbidden)

	_, err = f.Fetch(ctx, fmt.Sprintf("http://hop.example.com:%d/hop", public.port()))
	wantReason(t, err, fetch.ReasonSSRF, ragd.EForbidden)

	if n := trap.conns(); n != 0 {
		t.Errorf("loopback trap accepted %d connections, want 0", n)
	}
}

func TestFetchAllowListedInternalHost(t *testing.T) {
	srv := mustServe(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<p>wiki</p>")
	}))
	f := mustFetcher(t, fetch.Config{
		Ports: []int{srv.port()},
		Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	page, err := f.Fetch(context.Background(), "http://"+srv.addr.String()+"/wiki")
	if err != nil {
		t.Fatal(err)
	}
	if page.ContentType != "text/html" || string(page.Data) != "<p>wiki</p>" || page.Status != 200 {
		t.Errorf("page = %+v", page)
	}
}

func TestPolicy(t *testing.T) {
	f := mustFetcher(t, fetch.Config{Allow: []netip.Prefix{
		netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("100.100.100.200/32"),
	}})
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"93.184.216.34", true},
		{"2606:4700::6810:84e5", true},
		{"10.1.2.3", true},         // allow-listed
		{"10.2.0.1", false},        // private, not allow-listed
		{"169.254.1.1", true},      // allow-listed link-local
		{"169.254.169.254", false}, // metadata stays refused inside a broad range
		{"100.100.100.200", true},  // metadata allowed by its single-address prefix
		{"100.64.0.1", false},      // CGNAT
		{"172.31.255.255", false},  // private
		{"192.168.1.1", false},     // private
		{"127.0.0.1", false},       // loopback
		{"0.0.0.0", false},         // unspecified
		{"224.0.0.1", false},       // multicast
		{"255.255.255.255", false}, // broadcast
		{"::1", false},             // loopback
		{"::", false},              // unspecified
		{"::ffff:10.2.0.1", false}, // IPv4-mapped private
		{"::ffff:93.184.216.34", true},
		{"::127.0.0.1", false},       // IPv4-compatible
		{"fe80::1", false},           // link-local
		{"fd00:ec2::254", false},     // ULA, AWS metadata
		{"ff02::1", false},           // multicast
		{"64:ff9b::a02:1", false},    // NAT64 of 10.2.0.1
		{"64:ff9b::5db8:d822", true}, // NAT64 of a public address
		{"2002:c0a8:101::1", false},  // 6to4 of 192.168.1.1
		{"2001::1", false},           // Teredo
		{"2001:db8::1", false},       // documentation
	} {
		if got := f.AllowedAddr(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("AllowedAddr(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func TestParseIPHost(t *testing.T) {
	for _, tc := range []struct {
		host string
		want string // "" when not an address
	}{
		{"0", "0.0.0.0"},
		{"2130706433", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"0x7f.0.0.1", "127.0.0.1"},
		{"0x7f.1", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"10.1.65535", "10.1.255.255"},
		{"127.0.0.1.", "127.0.0.1"},
		{"[::ffff:127.0.0.1]", "::ffff:127.0.0.1"},
		{"::1", "::1"},
		{"0x", "0.0.0.0"},
		{"4294967296", ""},
		{"256.1.1.1", ""},
		{"1.2.3.256", ""},
		{"1.2.65536", ""},
		{"1.2.3.4.5", ""},
		{"08.1.1.1", ""},
		{"example.com", ""},
		{"1e100.net", ""},
		{"", ""},
	} {
		ip, ok := fetch.ParseIPHost(tc.host)
		got := ""
		if ok {
			got = ip.String()
		}
		if got != tc.want {
			t.Errorf("ParseIPHost(%q) = %q, want %q", tc.host, got, tc.want)
		}
	}
}

func FuzzParseIPHost(f *testing.F) {
	for _, s := range []string{"0", "2130706433", "0177.0.0.1", "0x7f.1", "1.2.3.4", "[::1]", "a.b", "1..2", "0x.0x.0x.0x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		ip, ok := fetch.ParseIPHost(host)
		if ok && !ip.IsValid() {
			t.Fatalf("ParseIPHost(%q) = invalid address, true", host)
		}
		// Plain dotted quads must agree with the standard parser.
		if std, err := netip.ParseAddr(host); err == nil && (!ok || ip != std) {
			t.Fatalf("ParseIPHost(%q) = %v, %v; netip says %v", host, ip, ok, std)
		}
	})
}

func TestFetchSizeCap(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 2048)
	srv := mustServe(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/declared":
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			w.Write(big)
		case "/chunked":
			w.Write(big[:512])
			w.(http.Flusher).Flush()
			w.Write(big[512:])
		case "/gzip":
			// 200 bytes on the wire, 2 KB once the transport inflates it.
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			zw.Write(big)
			zw.Close()
		case "/exact":
			w.Write(big[:1024])
		}
	}))
	f := mustFetcher(t, fetch.Config{
		MaxBytes: 1024,
		Ports:    []int{srv.port()},
		Allow:    []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	})
	base := "http://" + srv.addr.String()
	for _, p := range []string{"/declared", "/chunked", "/gzip"} {
		_, err := f.Fetch(context.Background(), base+p)
		wantReason(t, err, fetch.ReasonTooLarge, ragd.ETooLarge)
	}
	page, err := f.Fetch(context.Background(), base+"/exact")
	if err != nil || len(page.Data) != 1024 {
		t.Errorf("fetch at the cap = %v bytes, %v", page, err)
	}
}

// TestFetchTimeouts covers slow servers in the manner of H-13: headers that
// never come, and a body trickled a byte at a time.
func TestFetchTimeouts(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := mustServe(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/no-headers":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/trickle":
			w.Header().Set("Content-Length", "1000")
			for range 1000 {
				if _, err := w.Write([]byte("x")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-time.After(50 * time.Millisecond):
				case <-release:
					return
				case <-r.Context().Done():
					return
				}
			}
		}
	}))
	f := mustFetcher(t, fetch.Config{
		Timeout:       600 * time.Millisecond,
		HeaderTimeout: 300 * time.Millisecond,
		Ports:         []int{srv.port()},
		Allow:         []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	})
	base := "http://" + srv.addr.String()
	for _, p := range []string{"/no-headers", "/trickle"} {
		start := time.Now()
		_, err := f.Fetch(context.Background(), base+p)
		wantReason(t, err, fetch.ReasonTimeout, ragd.EUpstream)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s took %v, want about the 600 ms cap", p, d)
		}
	}

	// The caller's own cancellation is reported as such, not as a timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := f.Fetch(ctx, base+"/no-headers")
	if !errors.Is(err, context.DeadlineExceeded) || fetch.Reason(err) != "" {
		t.Errorf("cancelled fetch: %v, want the context's error", err)
	}
}

func TestFetchStatusAndRedirects(t *testing.T) {
	srv := mustServe(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/missing":
			http.NotFound(w, r)
		case r.URL.Path == "/broken":
			http.Error(w, "boom", http.StatusBadGateway)
		case r.URL.Path == "/busy":
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case strings.HasPrefix(r.URL.Path, "/r/"):
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/r/"))
			if n == 0 {
				fmt.Fprint(w, "arrived")
				return
			}
			http.Redirect(w, r, fmt.Sprintf("/r/%d", n-1), http.StatusFound)
		}
	}))
	f := mustFetcher(t, fetch.Config{
		Ports:    []int{srv.port()},
		Allow:    []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Resolver: &stubResolver{},
	})
	base := "http://" + srv.addr.String()
	ctx := context.Background()
	_, err := f.Fetch(ctx, base+"/missing")
	wantReason(t, err, fetch.ReasonHTTPStatus, ragd.ENotFound)
	_, err = f.Fetch(ctx, base+"/broken")
	wantReason(t, err, fetch.ReasonHTTPStatus, ragd.EUpstream)
	_, err = f.Fetch(ctx, base+"/busy")
	wantReason(t, err, fetch.ReasonHTTPStatus, ragd.ERateLimited)

	page, err := f.Fetch(ctx, base+"/r/5")
	if err != nil || string(page.Data) != "arrived" || page.URL != base+"/r/0" {
		t.Errorf("5 redirects: %+v, %v", page, err)
	}
	_, err = f.Fetch(ctx, base+"/r/6")
	wantReason(t, err, fetch.ReasonRedirects, ragd.EInvalid)

	for _, u := range []string{"http://", "http:///path", "://x", "http://[::1"} {
		_, err = f.Fetch(ctx, u)
		wantReason(t, err, fetch.ReasonInvalidURL, ragd.EInvalid)
	}
	_, err = f.Fetch(ctx, fmt.Sprintf("http://nonexistent.invalid:%d/", srv.port()))
	wantReason(t, err, fetch.ReasonUnreachable, ragd.EUpstream)
}

// TestFetchIgnoresProxyEnvironment: a proxy named in the environment is
// never used (it would bypass the dial-time address policy).
func TestFetchIgnoresProxyEnvironment(t *testing.T) {
	proxy := mustServe(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "via proxy")
	}))
	srv := mustServe(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "direct")
	}))
	t.Setenv("HTTP_PROXY", "http://"+proxy.addr.String())
	t.Setenv("http_proxy", "http://"+proxy.addr.String())
	t.Setenv("NO_PROXY", "")
	f := mustFetcher(t, fetch.Config{
		Ports: []int{srv.port(), proxy.port()},
		Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
	})
	page, err := f.Fetch(context.Background(), "http://"+srv.addr.String()+"/")
	if err != nil || string(page.Data) != "direct" {
		t.Fatalf("fetch = %+v, %v", page, err)
	}
	if n := proxy.conns(); n != 0 {
		t.Errorf("proxy got %d connections, want 0", n)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := fetch.New(fetch.Config{Ports: []int{70000}}); ragd.ErrorCode(err) != ragd.EInvalid {
		t.Errorf("port 70000: %v", err)
	}
	if _, err := fetch.New(fetch.Config{Allow: []netip.Prefix{{}}}); ragd.ErrorCode(err) != ragd.EInvalid {
		t.Errorf("invalid prefix: %v", err)
	}
}
