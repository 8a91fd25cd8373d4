package extract

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ragd/ragd"
)

// Reasons an extraction fails, as batch jobs record them ("failed:timeout").
const (
	ReasonParse                = "parse_error"            // damaged or malformed file, or a parser crash
	ReasonTimeout              = "timeout"                // the child ran past its wall-clock limit
	ReasonMemoryLimit          = "memory_limit"           // the child ran out of its memory limit
	ReasonTooManyPages         = "too_many_pages"         // a PDF over Options.MaxPages
	ReasonDecompressedTooLarge = "decompressed_too_large" // a zip over its size or ratio caps, or a lying entry
	ReasonTooManyEntries       = "too_many_entries"       // a zip with more entries than Options.MaxZipEntries
	ReasonUnsafePath           = "unsafe_path"            // a zip entry named "../x", "/x" or "a\\b"
	ReasonTooDeep              = "too_deep"               // a JSON record nested deeper than Options.MaxDepth
	ReasonPasswordRequired     = "password_required"      // an encrypted file without its password
	ReasonUnsupported          = "unsupported_type"       // a type ragd does not extract
	ReasonEmpty                = "empty"                  // an empty file, or one without any text
	ReasonOutputTooLarge       = "output_too_large"       // the child returned more than it may
	ReasonInternal             = "internal"               // the sandbox itself failed
)

// Failure is an extraction error with its reason. Err is the *ragd.Error
// that callers map to a status; errors.As finds it through Unwrap.
type Failure struct {
	Reason string
	Err    *ragd.Error
}

// Error returns the underlying error's text.
func (f *Failure) Error() string { return f.Err.Error() }

// Unwrap returns the *ragd.Error.
func (f *Failure) Unwrap() error { return f.Err }

// FailureReason returns f.Reason, for callers that look for it through an
// interface rather than this type (batch jobs record it as an item's reason).
func (f *Failure) FailureReason() string { return f.Reason }

// Reason returns the reason of the first *Failure in err's chain. A
// context error is ReasonTimeout, an EUnsupported error ReasonUnsupported,
// and any other error ReasonInternal. It returns "" for nil.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var f *Failure
	if errors.As(err, &f) {
		return f.Reason
	}
	var re *RecordErrors
	if errors.As(err, &re) && len(re.Records) > 0 {
		return re.Records[0].Reason
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	case ragd.ErrorCode(err) == ragd.EUnsupported:
		return ReasonUnsupported
	}
	return ReasonInternal
}

// fail returns a *Failure with a new *ragd.Error.
func fail(reason, code, format string, args ...any) error {
	return &Failure{Reason: reason, Err: ragd.Errorf(code, format, args...)}
}

// failWrap is fail with a cause kept for logs.
func failWrap(reason, code string, cause error, format string, args ...any) error {
	return &Failure{Reason: reason, Err: ragd.WrapError(code, cause, format, args...)}
}

// RecordError is one CSV row or JSON line that could not be extracted.
type RecordError struct {
	// Line is the 1-based line of the file where the record starts.
	Line   int    `json:"line"`
	Reason string `json:"reason"`
	// Message says what is wrong, safe to show to users.
	Message string `json:"message"`
}

// RecordErrors reports the records of a CSV or JSON Lines file that failed
// while others succeeded: Extract returns it together with the documents of
// the good records. Its code is EInvalid. When every record fails, Extract
// returns a plain *Failure and no documents instead.
type RecordErrors struct {
	Records []RecordError
	// Total is the number of records read, good and bad.
	Total int
}

// maxListedRecords bounds how many bad records Error names.
const maxListedRecords = 5

// Error summarizes the failed records.
func (e *RecordErrors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d records failed", len(e.Records), e.Total)
	for i, r := range e.Records {
		if i == maxListedRecords {
			fmt.Fprintf(&b, "; and %d more", len(e.Records)-i)
			break
		}
		fmt.Fprintf(&b, "; line %d: %s", r.Line, r.Message)
	}
	return b.String()
}

// FailureReason returns the reason of the first failed record.
func (e *RecordErrors) FailureReason() string {
	if len(e.Records) == 0 {
		return ""
	}
	return e.Records[0].Reason
}

// Unwrap returns an EInvalid *ragd.Error with the summary as its message.
func (e *RecordErrors) Unwrap() error {
	return &ragd.Error{Code: ragd.EInvalid, Message: e.Error()}
}
