package ragd

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each maps to one HTTP status in the api package and to one
// exit message in the CLI.
const (
	EInvalid      = "invalid"                // 400: the request is malformed or names something impossible
	EUnauthorized = "unauthorized"           // 401: missing or wrong credentials
	EForbidden    = "forbidden"              // 403: credentials fine, action not allowed
	ENotFound     = "not_found"              // 404: the collection, document or job does not exist
	EConflict     = "conflict"               // 409: the request conflicts with the current state
	ETimeout      = "request_timeout"        // 408: the request body arrived too slowly
	ETooLarge     = "too_large"              // 413: the body or a part of it is over a limit
	EUnsupported  = "unsupported_media_type" // 415: a file type ragd cannot extract
	ERateLimited  = "rate_limited"           // 429: ragd or an upstream model refuses for now; see RetryAfter
	EUpstream     = "upstream"               // 502: an upstream model service failed or answered nonsense
	EUnavailable  = "unavailable"            // 503: a dependency (database, vector store, model) is unreachable
	EInternal     = "internal"               // 500: a bug; details are logged, never returned
)

// Error is ragd's application error. Message is written for the user and is
// safe to return to clients; Err carries the cause for logs and errors.Is.
type Error struct {
	Code    string
	Message string
	// RetryAfter, when positive, tells the client when to try again
	// (rate_limited and unavailable errors).
	RetryAfter time.Duration
	// Err is the underlying cause, if any. It is never shown to clients.
	Err error
}

// Error returns the message, followed by the cause when there is one.
func (e *Error) Error() string {
	if e.Err != nil {
		if e.Message == "" {
			return e.Err.Error()
		}
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapError returns an *Error with the given code and message whose cause is
// err. The cause is kept for logs and is never shown to clients.
func WrapError(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// EInternal when there is none. It returns "" for a nil error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the user-facing message of the first *Error in err's
// chain, or "Internal error." when there is none or its code is EInternal.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EInternal && e.Message != "" {
		return e.Message
	}
	return "Internal error."
}

// ErrorRetryAfter returns the RetryAfter of the first *Error in err's chain.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
