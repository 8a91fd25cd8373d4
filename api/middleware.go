package api

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
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
			body := r.Body
			if s.Limits.BodyGrace > 0 && r.Body != http.NoBody {
				sb := &slowBody{
					body:  r.Body,
					rc:    http.NewResponseController(c.Response()),
					grace: s.Limits.BodyGrace,
					rate:  max(s.Limits.BodyMinRate, 1),
					start: time.Now(),
				}
				defer sb.clear()
				body = sb
			}
			r.Body = http.MaxBytesReader(c.Response(), body, limit)
			return next(c)
		}
	}
}

// slowBody sets the connection's read deadline before each read of a
// request body: start + grace + bytes read so far / rate, so a body must
// keep an average rate once the grace is over. net/http clears the
// deadline itself once the body has been read to its end; the middleware
// clears it when the handler returns early.
type slowBody struct {
	body  io.ReadCloser
	rc    *http.ResponseController
	grace time.Duration
	rate  int64
	start time.Time
	n     int64
	unset bool // the connection does not support deadlines
}

// errBodyTooSlow is the error of a request body read that passed its
// deadline.
type errBodyTooSlow struct {
	n       int64
	elapsed time.Duration
	rate    int64
	grace   time.Duration
}

func (e *errBodyTooSlow) Error() string {
	return fmt.Sprintf("%d bytes in %s, less than %d bytes a second after %s",
		e.n, e.elapsed.Round(time.Second), e.rate, e.grace)
}

func (b *slowBody) Read(p []byte) (int, error) {
	if !b.unset {
		deadline := b.start.Add(b.grace + time.Duration(float64(b.n)/float64(b.rate)*float64(time.Second)))
		if err := b.rc.SetReadDeadline(deadline); err != nil {
			b.unset = true
		}
	}
	n, err := b.body.Read(p)
	b.n += int64(n)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		err = &errBodyTooSlow{n: b.n, elapsed: time.Since(b.start), rate: b.rate, grace: b.grace}
	}
	return n, err
}

func (b *slowBody) Close() error { return b.body.Close() }

func (b *slowBody) clear() {
	if !b.unset {
		b.rc.SetReadDeadline(time.Time{})
	}
}

// tooSlow returns the error of a body that arrived too slowly in err's
// chain, or nil.
func tooSlow(err error) *errBodyTooSlow {
	var e *errBodyTooSlow
	errors.As(err, &e)
	return e
}

// bodyError maps an error from reading a request body to a ragd error.
func bodyError(err error, what string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return ragd.Errorf(ragd.ETooLarge, "request body is over the limit of %d bytes", mbe.Limit)
	}
	if slow := tooSlow(err); slow != nil {
		return ragd.Errorf(ragd.ETimeout, "%s arrived too slowly and was abandoned: %v", what, slow)
	}
	return ragd.WrapError(ragd.EInvalid, err, "%s could not be read", what)
}
