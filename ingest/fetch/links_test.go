package fetch_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ragd/ragd/ingest/fetch"
)

func TestLinks(t *testing.T) {
	page := `<html><head><title>t</title></head><body>
<a href="/guide/intro#top">Intro</a>
<a href="setup.html">Setup</a>
<a href="https://Example.COM:443/guide/intro">dup after normalizing</a>
<a href="/guide/intro">dup</a>
<a href="mailto:x@example.com">mail</a>
<a href="javascript:alert(1)">js</a>
<a href="http://10.0.0.5/admin">internal</a>
<a href="  ../up.html  ">spaces</a>
<a name="anchor">no href</a>
<map><area href="/area"></map>
<a href="http://[::1">broken</a>
<a href="//other.example.org/x">protocol-relative</a>
</body></html>`
	got := fetch.Links("https://example.com/guide/index.html", []byte(page))
	want := []string{
		"https://example.com/guide/intro",
		"https://example.com/guide/setup.html",
		"http://10.0.0.5/admin",
		"https://example.com/up.html",
		"https://example.com/area",
		"https://other.example.org/x",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Links (-want +got):\n%s", diff)
	}

	// <base href> changes what relative links resolve against; only the
	// first one counts.
	got = fetch.Links("https://example.com/a/b.html", []byte(`<base href="https://example.com/docs/"><base href="/ignored/"><a href="x.html">x</a>`))
	if diff := cmp.Diff([]string{"https://example.com/docs/x.html"}, got); diff != "" {
		t.Errorf("Links with base (-want +got):\n%s", diff)
	}
}

func TestLinksCap(t *testing.T) {
	var b strings.Builder
	for i := range fetch.MaxLinks + 50 {
		b.WriteString(`<a href="/p`)
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(`/`)
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(`?n=`)
		b.WriteString(url.QueryEscape(string(rune(i))))
		b.WriteString(`">x</a>`)
	}
	if n := len(fetch.Links("http://example.com/", []byte(b.String()))); n > fetch.MaxLinks {
		t.Errorf("got %d links, want at most %d", n, fetch.MaxLinks)
	}
}

func TestNormalizeURL(t *testing.T) {
	for in, want := range map[string]string{
		"HTTP://Example.COM":             "http://example.com/",
		"http://example.com:80/a#frag":   "http://example.com/a",
		"https://example.com:443/a?b=c":  "https://example.com/a?b=c",
		"https://example.com:8443/a":     "https://example.com:8443/a",
		"http://[2001:DB8::1]:80/x":      "http://[2001:db8::1]/x",
		" https://example.com/path/ ":    "https://example.com/path/",
		"http://example.com/a%20b?q=1#z": "http://example.com/a%20b?q=1",
	} {
		got, err := fetch.NormalizeURL(in)
		if err != nil || got != want {
			t.Errorf("NormalizeURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestSameSite(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"https://example.com/a", "https://EXAMPLE.com:443/b", true},
		{"https://example.com/a", "http://example.com/a", false},
		{"https://example.com/a", "https://docs.example.com/a", false},
		{"https://example.com/a", "https://example.com:8443/a", false},
		{"https://example.com/a", "http://10.0.0.5/", false},
		{"https://example.com/a", "::", false},
		{"mailto:x@example.com", "mailto:y@example.com", false},
	} {
		if got := fetch.SameSite(tc.a, tc.b); got != tc.want {
			t.Errorf("SameSite(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func FuzzLinks(f *testing.F) {
	f.Add("https://example.com/a/", `<a href="b">b</a><base href="/c/"><area href="//x.org/">`)
	f.Add("http://example.com", `<a href="http://[::1">`)
	f.Add("http://example.com", `<a href=x href=y><a href="\x00">`)
	f.Fuzz(func(t *testing.T, pageURL, page string) {
		links := fetch.Links(pageURL, []byte(page))
		if len(links) > fetch.MaxLinks {
			t.Fatalf("%d links", len(links))
		}
		seen := make(map[string]bool)
		for _, l := range links {
			if seen[l] {
				t.Fatalf("duplicate %q", l)
			}
			seen[l] = true
			u, err := url.Parse(l)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
				t.Fatalf("bad link %q (%v)", l, err)
			}
		}
	})
}
