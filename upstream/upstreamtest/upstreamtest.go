// Package upstreamtest has what ragd's fake model servers share: a
// response writer that flushes at chosen byte boundaries (to split streams
// inside UTF-8 characters and data lines), request recording, and
// cancellation tracking. The fakes themselves are workersai/workersaitest
// and openai/openaitest.
package upstreamtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// Step scripts how a fake answers one request. The zero Step answers
// normally.
type Step struct {
	// Status, when set, answers with this HTTP status and the provider's
	// error body for Code (or a generic one).
	Status int
	// Code is the provider's error code (Workers AI: 3036, 3040, 5007...;
	// OpenAI-compatible: an error code string is derived from Status).
	Code int
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// DelayFirst waits this long before the first byte of the answer.
	DelayFirst time.Duration
	// StallAfter > 0 sends that many tokens, then holds the stream open
	// until the client goes away.
	StallAfter int
	// DropAfter > 0 sends that many tokens, then cuts the connection.
	DropAfter int
	// ErrorAfter > 0 sends that many tokens, then an error object in the
	// stream (ErrorAfter < 0: the error object comes first).
	ErrorAfter int
	// HugeToken > 0 sends one delta of that many bytes as the first token.
	HugeToken int
	// NoDone ends the stream after the last token without its end marker.
	NoDone bool
}

// Request is what a fake recorded of one request.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
	// Canceled is when the fake saw the client go away, zero if it did
	// not while the fake was answering.
	Canceled time.Time
}

// Recorder records requests and hands out script steps in order. It is
// safe for concurrent use.
type Recorder struct {
	mu       sync.Mutex
	script   []Step
	requests []*Request
	canceled chan struct{}
	once     sync.Once
}

// NewRecorder returns a recorder that plays script, then answers normally.
func NewRecorder(script []Step) *Recorder {
	return &Recorder{script: append([]Step(nil), script...), canceled: make(chan struct{})}
}

// Begin records r and returns its record and the step to play.
func (rc *Recorder) Begin(r *http.Request) (*Request, Step) {
	body, _ := io.ReadAll(r.Body)
	req := &Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests = append(rc.requests, req)
	var s Step
	if len(rc.script) > 0 {
		s, rc.script = rc.script[0], rc.script[1:]
	}
	return req, s
}

// SetScript replaces the steps still to play.
func (rc *Recorder) SetScript(script []Step) {
	rc.mu.Lock()
	rc.script = append([]Step(nil), script...)
	rc.mu.Unlock()
}

// Canceled marks req as cancelled by its client.
func (rc *Recorder) Canceled(req *Request) {
	rc.mu.Lock()
	req.Canceled = time.Now()
	rc.mu.Unlock()
	rc.once.Do(func() { close(rc.canceled) })
}

// CanceledC is closed when the first request is cancelled by its client.
func (rc *Recorder) CanceledC() <-chan struct{} { return rc.canceled }

// Requests returns copies of the recorded requests, in order.
func (rc *Recorder) Requests() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]Request, len(rc.requests))
	for i, r := range rc.requests {
		out[i] = *r
	}
	return out
}

// Count returns how many requests arrived.
func (rc *Recorder) Count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.requests)
}

// Writer writes a response body in pieces of Chunk bytes (all at once when
// Chunk ≤ 0), flushing after each, so that the client reads it split at
// those boundaries.
type Writer struct {
	W     http.ResponseWriter
	Chunk int
	Ctx   context.Context
}

// Write writes p in pieces; it fails once the client has gone away.
func (w Writer) Write(p []byte) (int, error) {
	fl, _ := w.W.(http.Flusher)
	n := 0
	for len(p) > 0 {
		if err := w.Ctx.Err(); err != nil {
			return n, err
		}
		k := len(p)
		if w.Chunk > 0 && k > w.Chunk {
			k = w.Chunk
		}
		m, err := w.W.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		if fl != nil {
			fl.Flush()
		}
		p = p[k:]
	}
	return n, nil
}

// Event writes one SSE event "data: {data}\n\n".
func (w Writer) Event(data []byte) error {
	var b bytes.Buffer
	b.Grow(len(data) + 8)
	b.WriteString("data: ")
	b.Write(data)
	b.WriteString("\n\n")
	_, err := w.Write(b.Bytes())
	return err
}

// Sleep waits d or until ctx ends; it reports whether ctx is still live.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Drop cuts the client's connection without finishing the response.
func Drop(w http.ResponseWriter) {
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// Tokens splits an answer into word-ish tokens (each word with its leading
// space), as LLM streams deliver them.
func Tokens(answer string) []string {
	var out []string
	start := 0
	for i := 1; i < len(answer); i++ {
		if answer[i] == ' ' && answer[i-1] != ' ' {
			out = append(out, answer[start:i])
			start = i
		}
	}
	if start < len(answer) {
		out = append(out, answer[start:])
	}
	return out
}
