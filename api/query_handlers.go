package api

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/generate"
)

type queryRequest struct {
	searchRequest
	Stream      *bool    `json:"stream"`
	MaxTokens   int      `json:"max_tokens"`
	Temperature *float64 `json:"temperature"`
	Model       string   `json:"model"`
}

// sourcesEvent, deltaEvent, doneEvent and errorEvent are the data of the
// query stream's events (API.md).
type sourcesEvent struct {
	Sources   []ragd.Source  `json:"sources"`
	Retrieval ragd.Retrieval `json:"retrieval"`
	Model     string         `json:"model"`
}

type deltaEvent struct {
	Text string `json:"text"`
}

type doneEvent struct {
	Citations []int        `json:"citations"`
	Usage     ragd.Usage   `json:"usage"`
	Timings   ragd.Timings `json:"timings"`
	Model     string       `json:"model"`
}

func (s *Server) handleQuery(c echo.Context) error {
	var req queryRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	q, err := req.question(c.Param("name"))
	if err != nil {
		return err
	}
	q.MaxTokens, q.Temperature, q.Model = req.MaxTokens, req.Temperature, req.Model
	if req.MaxTokens < 0 {
		return ragd.Errorf(ragd.EInvalid, "max_tokens must be positive, got %d", req.MaxTokens)
	}
	stream := req.Stream == nil || *req.Stream
	if req.Stream == nil && !acceptsEventStream(c.Request()) && acceptsOnlyJSON(c.Request()) {
		stream = false
	}
	if !stream {
		return s.answerJSON(c, q)
	}
	return s.answerStream(c, q)
}

func (s *Server) answerJSON(c echo.Context, q ragd.Question) error {
	var (
		ans  ragd.Answer
		text strings.Builder
	)
	err := s.Answerer.Answer(c.Request().Context(), q, func(e generate.Event) error {
		switch e.Kind {
		case generate.EventSources:
			ans.Sources, ans.Retrieval, ans.Model = e.Sources, e.Retrieval, e.Model
		case generate.EventDelta:
			text.WriteString(e.Text)
		case generate.EventDone:
			ans.Citations, ans.Usage, ans.Timings, ans.Model = e.Citations, e.Usage, e.Timings, e.Model
		}
		return nil
	})
	if err != nil {
		return err
	}
	ans.Answer = text.String()
	s.Metrics.observeRetrieval("query", ans.Retrieval.Mode)
	s.Metrics.observeAnswer(ans.Model, ans.Usage, time.Duration(ans.Timings.FirstTokenMS)*time.Millisecond)
	return c.JSON(http.StatusOK, ans)
}

// errShutdown ends a stream when the server is shutting down.
var errShutdown = ragd.Errorf(ragd.EUnavailable, "the server is shutting down; retry the question")

// answerStream streams the answer as Server-Sent Events. Errors before the
// first event are ordinary error responses; after it, an error event ends
// the stream. A client that goes away cancels the request context, which
// cancels the upstream model call.
func (s *Server) answerStream(c echo.Context, q ragd.Question) error {
	ctx, cancel := context.WithCancelCause(c.Request().Context())
	defer cancel(nil)
	go func() {
		select {
		case <-s.closing:
			cancel(errShutdown)
		case <-ctx.Done():
		}
	}()
	s.Metrics.streamOpened(1)
	defer s.Metrics.streamOpened(-1)

	sse := &sseWriter{w: c.Response()}
	var writeErr error
	err := s.Answerer.Answer(ctx, q, func(e generate.Event) error {
		var err error
		switch e.Kind {
		case generate.EventSources:
			s.Metrics.observeRetrieval("query", e.Retrieval.Mode)
			err = sse.event("sources", sourcesEvent{Sources: e.Sources, Retrieval: e.Retrieval, Model: e.Model})
		case generate.EventDelta:
			err = sse.event("delta", deltaEvent{Text: e.Text})
		case generate.EventDone:
			s.Metrics.observeAnswer(e.Model, e.Usage, time.Duration(e.Timings.FirstTokenMS)*time.Millisecond)
			err = sse.event("done", doneEvent{Citations: e.Citations, Usage: e.Usage, Timings: e.Timings, Model: e.Model})
		}
		if err != nil {
			writeErr = err
		}
		return err
	})
	switch {
	case err == nil:
		return nil
	case writeErr != nil || c.Request().Context().Err() != nil:
		// The client is gone: nothing more can be written.
		return nil
	case !sse.started:
		if cause := context.Cause(ctx); errors.Is(cause, errShutdown) {
			return errShutdown
		}
		return err
	}
	if cause := context.Cause(ctx); errors.Is(cause, errShutdown) {
		err = errShutdown
	}
	code := ragd.ErrorCode(err)
	if code == ragd.EInternal || code == ragd.EUpstream || code == ragd.EUnavailable {
		s.Logger.Error("answer stream failed", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "code", code, "err", err)
	}
	return sse.event("error", ErrorBody{Error: ErrorDetail{
		Code:      code,
		Message:   ragd.ErrorMessage(err),
		RequestID: c.Response().Header().Get(echo.HeaderXRequestID),
	}})
}

// acceptsEventStream reports whether the Accept header names
// text/event-stream.
func acceptsEventStream(r *http.Request) bool {
	return acceptHas(r, "text/event-stream")
}

// acceptsOnlyJSON reports whether the client asked for JSON and not for a
// stream.
func acceptsOnlyJSON(r *http.Request) bool {
	return acceptHas(r, echo.MIMEApplicationJSON)
}

func acceptHas(r *http.Request, want string) bool {
	for _, part := range strings.Split(r.Header.Get(echo.HeaderAccept), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == want {
			return true
		}
	}
	return false
}
