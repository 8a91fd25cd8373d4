package upstream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// abortError carries an error that must end a request as it is: the
// caller's own (onDelta's) error.
type abortError struct{ err error }

// Error returns the caller's error's text.
func (a *abortError) Error() string { return a.err.Error() }

// Unwrap returns the caller's error.
func (a *abortError) Unwrap() error { return a.err }

// Abort marks err as the caller's own: Retrier.Do returns it unchanged and
// does not retry.
func Abort(err error) error { return &abortError{err: err} }

// StreamConfig sets a stream's limits.
type StreamConfig struct {
	// FirstToken is the time limit from sending the request to the first
	// delta; Idle the limit between deltas. Zero means no limit.
	FirstToken time.Duration
	Idle       time.Duration
	// MaxLine caps one SSE line or event; ≤ 0 means DefaultMaxLine.
	MaxLine int
}

// StreamCall describes one streamed request to an upstream.
type StreamCall struct {
	Client *http.Client
	// Request builds the request for one attempt with the given context.
	Request func(ctx context.Context) (*http.Request, error)
	// OnResponse, when set, sees every response's headers (for gateway log
	// ids) before the body is read.
	OnResponse func(resp *http.Response, rec *Record)
	// Classify turns a non-2xx answer, or a 2xx answer that is not an event
	// stream, into a failure; body is at most MaxErrorBody bytes of it.
	Classify func(resp *http.Response, body []byte) *Failure
	// Event parses one event's data. It returns the text to deliver (may be
	// empty), whether this was the stream's end marker, and a failure for an
	// error event or unparseable data.
	Event func(data []byte) (text string, done bool, f *Failure)
}

// Stream makes one attempt of a streamed call: it sends the request, reads
// the SSE stream under the time limits, and calls onDelta with each
// non-empty delta. It returns nil only when the stream reached its end
// marker; a stream that ends early is a KindTruncated failure, a stall a
// KindTimeout one. Failures after a delivered delta are marked Delivered
// so that they are not retried. onDelta's error is returned through Abort.
func Stream(ctx context.Context, cfg StreamConfig, call StreamCall, rec *Record, onDelta func(string) error) error {
	start := time.Now()
	wctx, wd := NewWatchdog(ctx, cfg.FirstToken, cfg.Idle)
	defer wd.Stop()
	req, err := call.Request(wctx)
	if err != nil {
		return err
	}
	resp, err := call.Client.Do(req)
	if err != nil {
		if f := wd.Failure(wctx, err, false); f != nil {
			return f
		}
		return NetworkFailure(err, false)
	}
	defer resp.Body.Close()
	rec.Status = resp.StatusCode
	if call.OnResponse != nil {
		call.OnResponse(resp, rec)
	}
	if resp.StatusCode/100 != 2 || !isEventStream(resp.Header.Get("Content-Type")) {
		body, rerr := ReadLimited(resp.Body, MaxErrorBody)
		if rerr != nil && len(body) == 0 {
			if f := wd.Failure(wctx, rerr, false); f != nil {
				return f
			}
		}
		return call.Classify(resp, body)
	}
	delivered := false
	sse := NewSSEReader(resp.Body, cfg.MaxLine)
	for {
		ev, err := sse.Next()
		if err != nil {
			if f := wd.Failure(wctx, err, delivered); f != nil {
				return f
			}
			switch {
			case errors.Is(err, ErrLineTooLong):
				return &Failure{Kind: KindProtocol, Err: err, Delivered: true}
			case err == io.EOF, err == io.ErrUnexpectedEOF:
				return &Failure{Kind: KindTruncated, Err: errors.New("stream ended without its end marker"), Delivered: delivered}
			}
			return NetworkFailure(err, delivered)
		}
		text, done, f := call.Event(ev.Data)
		if f != nil {
			f.Delivered = f.Delivered || delivered
			return f
		}
		if text != "" {
			wd.Progress()
			if !delivered {
				rec.FirstToken = time.Since(start)
				delivered = true
			}
			if err := onDelta(text); err != nil {
				return Abort(err)
			}
		}
		if done {
			return nil
		}
	}
}

func isEventStream(ct string) bool {
	ct = string(bytes.ToLower([]byte(ct)))
	return len(ct) >= len("text/event-stream") && ct[:len("text/event-stream")] == "text/event-stream"
}
