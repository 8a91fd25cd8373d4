package api

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"
)

// sseWriter writes Server-Sent Events and flushes each one.
type sseWriter struct {
	w       *echo.Response
	started bool
}

// start sends the stream's headers.
func (s *sseWriter) start() {
	h := s.w.Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	s.w.WriteHeader(http.StatusOK)
	s.w.Flush()
	s.started = true
}

// event writes one event with a JSON data line and flushes it.
func (s *sseWriter) event(name string, data any) error {
	if !s.started {
		s.start()
	}
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(name)+len(b)+16)
	buf = append(buf, "event: "...)
	buf = append(buf, name...)
	buf = append(buf, "\ndata: "...)
	buf = append(buf, b...) // JSON has no raw newlines
	buf = append(buf, "\n\n"...)
	if _, err := s.w.Write(buf); err != nil {
		return err
	}
	s.w.Flush()
	return nil
}
