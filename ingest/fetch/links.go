package fetch

import (
	"bytes"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// MaxLinks caps the links [Links] returns from one page.
const MaxLinks = 10000

// NormalizeURL returns the canonical form of an absolute URL, used as a
// document's stable source key: scheme and host lower-cased, the default
// port dropped, an empty path made "/", the fragment removed.
func NormalizeURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", err
	}
	return normalize(u).String(), nil
}

func normalize(u *url.URL) *url.URL {
	n := *u
	n.Scheme = strings.ToLower(n.Scheme)
	n.Fragment, n.RawFragment = "", ""
	if n.Host != "" {
		host, port := strings.ToLower(n.Hostname()), n.Port()
		if (n.Scheme == "http" && port == "80") || (n.Scheme == "https" && port == "443") {
			port = ""
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		if port != "" {
			host += ":" + port
		}
		n.Host = host
		if n.Path == "" && n.Opaque == "" {
			n.Path = "/"
		}
	}
	return &n
}

// SameSite reports whether a and b have the same scheme, host and port: the
// boundary a crawl stays within.
func SameSite(a, b string) bool {
	ua, err := url.Parse(a)
	if err != nil {
		return false
	}
	ub, err := url.Parse(b)
	if err != nil {
		return false
	}
	na, nb := normalize(ua), normalize(ub)
	return na.Host != "" && na.Scheme == nb.Scheme && na.Host == nb.Host
}

// Links returns the http and https links of an HTML page (a and area
// hrefs), resolved against pageURL or the page's <base href>, normalized,
// without duplicates, in document order, at most [MaxLinks]. Links that do
// not parse are dropped.
func Links(pageURL string, page []byte) []string {
	base, err := url.Parse(pageURL)
	if err != nil {
		return nil
	}
	var out []string
	seen := make(map[string]bool)
	baseSet := false
	z := html.NewTokenizer(bytes.NewReader(page))
	for len(out) < MaxLinks {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		name, hasAttr := z.TagName()
		tag := string(name)
		if !hasAttr || (tag != "a" && tag != "area" && tag != "base") {
			continue
		}
		var href string
		found := false
		for {
			k, v, more := z.TagAttr()
			if string(k) == "href" && !found {
				href, found = strings.TrimSpace(string(v)), true
			}
			if !more {
				break
			}
		}
		if !found {
			continue
		}
		if tag == "base" {
			if !baseSet {
				if b, err := base.Parse(href); err == nil {
					base = b
				}
				baseSet = true
			}
			continue
		}
		u, err := base.Parse(href)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			continue // "http://:" has a Host but no host name
		}
		s := normalize(u).String()
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
