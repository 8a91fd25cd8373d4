package fetch

import (
	"errors"
	"fmt"
)

// Reasons name why a fetch or a file read was refused or failed. Jobs record
// them as an item's reason.
const (
	ReasonSSRF         = "ssrf"               // scheme, port or address not allowed
	ReasonInvalidURL   = "invalid_url"        // the URL cannot be parsed or has no host
	ReasonTooLarge     = "too_large"          // the body or file is over the size cap
	ReasonTimeout      = "timeout"            // the server was too slow (headers or whole fetch)
	ReasonHTTPStatus   = "http_status"        // the server answered with a non-2xx status
	ReasonRedirects    = "too_many_redirects" // more redirects than allowed
	ReasonUnreachable  = "unreachable"        // the name did not resolve or the connection failed
	ReasonPathEscape   = "path_escape"        // the path leaves its root (../, absolute, symlink out, loop)
	ReasonNotRegular   = "not_regular"        // a FIFO, device, socket or other non-regular file
	ReasonNotFound     = "not_found"          // the path does not exist (or a symlink dangles)
	ReasonTooManyFiles = "too_many_files"     // a folder holds more files than a job may take
)

// Error is the detail behind a refused or failed fetch or file read. It is
// the cause (Err) of the *ragd.Error that this package's functions return;
// use [Reason] to get at it.
type Error struct {
	Reason string
	// Source is the URL or path concerned.
	Source string
	// Status is the HTTP status for ReasonHTTPStatus.
	Status int
	Err    error
}

// Error describes the failure for logs; it may name resolved addresses and
// is never shown to clients.
func (e *Error) Error() string {
	s := e.Reason + " " + e.Source
	if e.Status != 0 {
		s += fmt.Sprintf(" (status %d)", e.Status)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Reason returns the reason of the first *Error in err's chain, or "" when
// there is none.
func Reason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
