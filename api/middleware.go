package api

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
)

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestID gives every request an id, echoed in X-Request-Id: the
// client's own when it is a plain token, else a new random one.
func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !requestIDRE.MatchString(id) {
			var b [12]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// recoverPanics turns a handler panic into an internal error, logged with
// its stack, so one bad request cannot take the server down.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				err = ragd.WrapError(ragd.EInternal, fmt.Errorf("panic: %v\n%s", r, debug.Stack()), "internal error")
			}
		}()
		return next(c)
	}
}

// observe logs each request once and records its metrics.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		s.Metrics.observeRequest(c.Request().Method, route, status, elapsed)
		s.Logger.Info("request",
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method, "route", route, "status", status,
			"bytes", c.Response().Size, "ms", elapsed.Milliseconds())
		return nil
	}
}

// authenticate requires a configured API key as a bearer token, when keys
// are configured.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if len(s.APIKeys) == 0 {
			return next(c)
		}
		auth := c.Request().Header.Get(echo.HeaderAuthorization)
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || token == "" {
			return ragd.Errorf(ragd.EUnauthorized, "this route needs an API key: send Authorization: Bearer KEY")
		}
		valid := 0
		for _, k := range s.APIKeys {
			valid |= subtle.ConstantTimeCompare([]byte(token), []byte(k))
		}
		if valid != 1 {
			return ragd.Errorf(ragd.EUnauthorized, "the API key is not valid")
		}
		return next(c)
	}
}

// bodyLimit refuses bodies over limit bytes: at once when Content-Length
// says so, else when reading passes the limit.
func (s *Server) bodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength > limit {
				return ragd.Errorf(ragd.ETooLarge, "request body is %d bytes; the limit is %d", r.ContentLength, limit)
			}
			r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
			return next(c)
		}
	}
}

// bodyError maps an error from reading a request body to a ragd error.
func bodyError(err error, what string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return ragd.Errorf(ragd.ETooLarge, "request body is over the limit of %d bytes", mbe.Limit)
	}
	return ragd.WrapError(ragd.EInvalid, err, "%s could not be read", what)
}
