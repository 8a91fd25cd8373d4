package upstream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxErrorBody is how much of an error response ragd reads.
const MaxErrorBody = 64 << 10

// MaxResponseBody caps a non-streamed response (embeddings, rerank scores).
const MaxResponseBody = 64 << 20

// NewHTTPClient returns an HTTP client for model APIs: its own transport
// (so tests and clients do not share connection pools through
// http.DefaultTransport) and no overall timeout, since limits come from
// contexts and stream watchdogs.
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	t.ResponseHeaderTimeout = 0
	return &http.Client{Transport: t}
}

// ReadLimited reads r up to limit bytes and fails when there is more.
func ReadLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return b, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("response larger than %d bytes", limit)
	}
	return b, nil
}

// Excerpt returns at most 512 bytes of b as valid UTF-8 on one line, for
// log details.
func Excerpt(b []byte) string {
	b = bytes.TrimSpace(b)
	cut := len(b) > 512
	if cut {
		b = b[:512]
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.Join(strings.Fields(s), " ")
	if cut {
		// drop a rune split by the cut
		for len(s) > 0 {
			r, size := utf8.DecodeLastRuneInString(s)
			if r != utf8.RuneError || size > 1 {
				break
			}
			s = s[:len(s)-size]
		}
		s += "…"
	}
	return s
}

// NetworkFailure classifies an error from sending a request or reading a
// response: a transport error is KindNetwork.
func NetworkFailure(err error, delivered bool) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return &Failure{Kind: KindNetwork, Err: err, Delivered: delivered}
}

// StatusFailure builds the failure for an HTTP error answer from its status
// and headers when the body says nothing more specific; callers refine Kind
// and Code from the body.
func StatusFailure(resp *http.Response, body []byte, now time.Time) *Failure {
	return &Failure{
		Kind:       KindForStatus(resp.StatusCode),
		Status:     resp.StatusCode,
		RetryAfter: ParseRetryAfter(resp.Header, now),
		Detail:     Excerpt(body),
	}
}
