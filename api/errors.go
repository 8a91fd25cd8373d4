package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
)

// statuses maps ragd error codes to HTTP statuses.
var statuses = map[string]int{
	ragd.EInvalid:      http.StatusBadRequest,
	ragd.EUnauthorized: http.StatusUnauthorized,
	ragd.EForbidden:    http.StatusForbidden,
	ragd.ENotFound:     http.StatusNotFound,
	ragd.EConflict:     http.StatusConflict,
	ragd.ETimeout:      http.StatusRequestTimeout,
	ragd.ETooLarge:     http.StatusRequestEntityTooLarge,
	ragd.EUnsupported:  http.StatusUnsupportedMediaType,
	ragd.ERateLimited:  http.StatusTooManyRequests,
	ragd.EUpstream:     http.StatusBadGateway,
	ragd.EUnavailable:  http.StatusServiceUnavailable,
	ragd.EInternal:     http.StatusInternalServerError,
}

// ErrorBody is the JSON envelope of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the error inside the envelope.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

// fromHTTPError turns echo's own errors (unknown route, wrong method, body
// too large) into ragd errors.
func fromHTTPError(he *echo.HTTPError) *ragd.Error {
	msg := fmt.Sprint(he.Message)
	switch he.Code {
	case http.StatusNotFound:
		return ragd.Errorf(ragd.ENotFound, "no route matches this path")
	case http.StatusMethodNotAllowed:
		return ragd.Errorf(ragd.EInvalid, "method not allowed on this path")
	case http.StatusRequestEntityTooLarge:
		return ragd.Errorf(ragd.ETooLarge, "request body is too large")
	case http.StatusUnauthorized:
		return ragd.Errorf(ragd.EUnauthorized, "%s", msg)
	case http.StatusUnsupportedMediaType:
		return ragd.Errorf(ragd.EUnsupported, "%s", msg)
	}
	if he.Code >= 400 && he.Code < 500 {
		return ragd.Errorf(ragd.EInvalid, "%s", msg)
	}
	return ragd.WrapError(ragd.EInternal, he, "internal error")
}

// handleError writes err as the error envelope with its status, or, when
// the response has started (a stream), only logs it.
func (s *Server) handleError(err error, c echo.Context) {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if _, ok := he.Internal.(*ragd.Error); !ok {
			err = fromHTTPError(he)
		} else {
			err = he.Internal
		}
	}
	code := ragd.ErrorCode(err)
	status := statuses[code]
	reqID := c.Response().Header().Get(echo.HeaderXRequestID)
	if code == ragd.EInternal || code == ragd.EUpstream || code == ragd.EUnavailable {
		s.Logger.Error("request failed", "request_id", reqID, "method", c.Request().Method,
			"path", c.Path(), "code", code, "err", err)
	}
	if code == ragd.ETimeout {
		// The rest of the body may still trickle in: do not wait for it.
		c.Response().Header().Set(echo.HeaderConnection, "close")
	}
	if c.Response().Committed {
		return
	}
	if ra := ragd.ErrorRetryAfter(err); ra > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(ra.Seconds()+0.999)))
	} else if code == ragd.ERateLimited || code == ragd.EUnavailable {
		c.Response().Header().Set("Retry-After", "1")
	}
	body := ErrorBody{Error: ErrorDetail{Code: code, Message: ragd.ErrorMessage(err), RequestID: reqID}}
	if c.Request().Method == http.MethodHead {
		err = c.NoContent(status)
	} else {
		err = c.JSON(status, body)
	}
	if err != nil {
		s.Logger.Warn("writing error response", "request_id", reqID, "err", err)
	}
}
