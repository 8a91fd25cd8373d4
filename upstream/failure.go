// Package upstream holds what ragd's model clients (workersai, openai)
// share: the classification of failed calls, retries with exponential
// backoff and full jitter that honour Retry-After, a retry budget per
// client, a circuit breaker (including Workers AI's daily quota), an SSE
// reader without a small line limit, stream time limits, and the
// per-request log record.
package upstream

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ragd/ragd"
)

// Kind classifies a failed upstream attempt.
type Kind int

// Kinds of failure. Retryable reports which ones are worth another attempt.
const (
	KindUnknown       Kind = iota
	KindRateLimited        // 429 without a quota code: retried after Retry-After or backoff
	KindQuota              // a daily or account allocation is used up (Workers AI 3036): not retried until the reset
	KindOverloaded         // the upstream is out of capacity (Workers AI 3040, 503): retried
	KindServer             // a 5xx answer: retried
	KindNetwork            // the upstream could not be reached or the connection broke: retried
	KindTimeout            // no first token, or no next token, within the time limit
	KindTruncated          // the stream ended before its end marker
	KindProtocol           // the upstream answered something ragd cannot parse
	KindStreamError        // the upstream reported an error inside the stream
	KindNotFound           // the model does not exist
	KindBadInput           // the upstream rejected the input (too long, malformed)
	KindTooLarge           // the request body is over the upstream's limit
	KindContentFilter      // the upstream refused the content
	KindAuth               // the credentials were refused
	KindForbidden          // the account may not use the model
	KindBreakerOpen        // ragd did not call the upstream: its breaker is open
)

var kindNames = [...]string{
	KindUnknown:       "unknown",
	KindRateLimited:   "rate_limited",
	KindQuota:         "quota_exhausted",
	KindOverloaded:    "overloaded",
	KindServer:        "server_error",
	KindNetwork:       "network",
	KindTimeout:       "timeout",
	KindTruncated:     "truncated",
	KindProtocol:      "protocol",
	KindStreamError:   "stream_error",
	KindNotFound:      "model_not_found",
	KindBadInput:      "bad_input",
	KindTooLarge:      "too_large",
	KindContentFilter: "content_filter",
	KindAuth:          "unauthorized",
	KindForbidden:     "forbidden",
	KindBreakerOpen:   "breaker_open",
}

// String returns the kind's name as logged.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Retryable reports whether a failure of this kind may succeed on another
// attempt.
func (k Kind) Retryable() bool {
	switch k {
	case KindRateLimited, KindOverloaded, KindServer, KindNetwork, KindTruncated, KindStreamError:
		return true
	}
	return false
}

// countsAgainstBreaker reports whether the failure says the upstream is
// unhealthy (as opposed to a problem with the request).
func (k Kind) countsAgainstBreaker() bool {
	switch k {
	case KindOverloaded, KindServer, KindNetwork, KindTimeout, KindTruncated, KindStreamError, KindProtocol:
		return true
	}
	return false
}

// Failure describes one failed upstream attempt. Detail holds what the
// upstream said (status line, error codes, a bounded excerpt of the body)
// for the log; it never reaches clients.
type Failure struct {
	Kind Kind
	// Status is the HTTP status, 0 when there was no response.
	Status int
	// Code is the upstream's own error code, for example Workers AI's 3036.
	Code int
	// RetryAfter is how long the upstream asked ragd to wait, if it said.
	RetryAfter time.Duration
	// Detail is the upstream's explanation, for logs only.
	Detail string
	// Err is the underlying error, if any.
	Err error
	// Delivered is true when part of the answer had already been passed on
	// before the failure: such a failure is never retried.
	Delivered bool
}

// Error describes the failure with the upstream's details, for logs.
func (f *Failure) Error() string {
	s := "upstream " + f.Kind.String()
	if f.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d", f.Status)
		if f.Code != 0 {
			s += fmt.Sprintf(", code %d", f.Code)
		}
		s += ")"
	} else if f.Code != 0 {
		s += fmt.Sprintf(" (code %d)", f.Code)
	}
	if f.Detail != "" {
		s += ": " + f.Detail
	}
	if f.Err != nil {
		s += ": " + f.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (f *Failure) Unwrap() error { return f.Err }

// Retryable reports whether another attempt may succeed.
func (f *Failure) Retryable() bool { return !f.Delivered && f.Kind.Retryable() }

// AsFailure returns the *Failure in err's chain, or a KindUnknown failure
// wrapping err when there is none.
func AsFailure(err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return &Failure{Kind: KindUnknown, Err: err}
}

// KindForStatus classifies an HTTP error status when the body says nothing
// more specific.
func KindForStatus(status int) Kind {
	switch {
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status == http.StatusUnauthorized:
		return KindAuth
	case status == http.StatusForbidden:
		return KindForbidden
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusRequestEntityTooLarge:
		return KindTooLarge
	case status == http.StatusRequestTimeout:
		return KindServer
	case status == http.StatusServiceUnavailable:
		return KindOverloaded
	case status >= 500:
		return KindServer
	case status >= 400:
		return KindBadInput
	}
	return KindProtocol
}

// Describe names the upstream and model in user-facing messages, for
// example Provider "Workers AI", Model "@cf/meta/llama-3.1-8b-instruct".
type Describe struct {
	Provider string
	Model    string
}

func (d Describe) model() string {
	return fmt.Sprintf("%s model %q", d.Provider, d.Model)
}

// ToError turns a failed call into the *ragd.Error that callers see. The
// message names the provider and model and says what happened; the
// upstream's own words stay in the wrapped cause (a *Failure), for logs. An
// error that already is a *ragd.Error is returned as it is.
func (d Describe) ToError(err error) error {
	if err == nil {
		return nil
	}
	var re *ragd.Error
	if errors.As(err, &re) {
		return err
	}
	f := AsFailure(err)
	switch f.Kind {
	case KindQuota:
		return &ragd.Error{Code: ragd.ERateLimited, RetryAfter: f.RetryAfter, Err: err,
			Message: fmt.Sprintf("%s: the account's daily allocation is used up; try again after it resets", d.model())}
	case KindRateLimited:
		return &ragd.Error{Code: ragd.ERateLimited, RetryAfter: f.RetryAfter, Err: err,
			Message: fmt.Sprintf("%s is rate limiting requests; try again later", d.model())}
	case KindBreakerOpen:
		return &ragd.Error{Code: ragd.EUnavailable, RetryAfter: f.RetryAfter, Err: err,
			Message: fmt.Sprintf("%s is failing; ragd paused calls to it, try again later", d.model())}
	case KindOverloaded:
		return &ragd.Error{Code: ragd.EUnavailable, RetryAfter: f.RetryAfter, Err: err,
			Message: fmt.Sprintf("%s is out of capacity; try again later", d.model())}
	case KindNetwork:
		return &ragd.Error{Code: ragd.EUnavailable, Err: err,
			Message: fmt.Sprintf("%s could not be reached", d.model())}
	case KindServer:
		return ragd.WrapError(ragd.EUpstream, err, "%s failed", d.model())
	case KindTimeout:
		return ragd.WrapError(ragd.EUpstream, err, "%s did not answer in time", d.model())
	case KindTruncated:
		return ragd.WrapError(ragd.EUpstream, err, "%s stream ended before it was complete", d.model())
	case KindStreamError:
		return ragd.WrapError(ragd.EUpstream, err, "%s reported an error while answering", d.model())
	case KindProtocol:
		return ragd.WrapError(ragd.EUpstream, err, "%s answered in an unexpected format", d.model())
	case KindNotFound:
		return ragd.WrapError(ragd.EInvalid, err, "%s was not found", d.model())
	case KindBadInput:
		return ragd.WrapError(ragd.EInvalid, err, "%s rejected the input", d.model())
	case KindTooLarge:
		return ragd.WrapError(ragd.EInvalid, err, "%s rejected the request as too large", d.model())
	case KindContentFilter:
		return ragd.WrapError(ragd.EInvalid, err, "%s refused the content", d.model())
	case KindAuth:
		return ragd.WrapError(ragd.EUpstream, err, "%s refused ragd's credentials; check the configured API token", d.model())
	case KindForbidden:
		return ragd.WrapError(ragd.EUpstream, err, "%s may not be used with the configured account", d.model())
	}
	return ragd.WrapError(ragd.EUpstream, err, "%s failed", d.model())
}
