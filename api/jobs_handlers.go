package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest/jobs"
)

// Jobs runs batch ingest jobs.
type Jobs interface {
	Submit(ctx context.Context, spec jobs.Spec) (jobs.Job, error)
	Job(ctx context.Context, id string) (jobs.Job, error)
	Jobs(ctx context.Context, f jobs.Filter) ([]jobs.Job, error)
	Items(ctx context.Context, id string, after int64, limit int) ([]jobs.Item, error)
	Cancel(ctx context.Context, id string) (jobs.Job, error)
	Events(ctx context.Context, id string) (<-chan jobs.Event, error)
}

func (s *Server) handleSubmitJob(c echo.Context) error {
	var spec jobs.Spec
	if err := decodeJSON(c, &spec); err != nil {
		return err
	}
	j, err := s.Jobs.Submit(c.Request().Context(), spec)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, j)
}

func (s *Server) handleListJobs(c echo.Context) error {
	f := jobs.Filter{Collection: c.QueryParam("collection"), Status: c.QueryParam("status"), Before: c.QueryParam("cursor")}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return ragd.Errorf(ragd.EInvalid, "limit must be between 1 and 1000, got %q", v)
		}
		f.Limit = n
	}
	js, err := s.Jobs.Jobs(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := list[jobs.Job]{Data: js}
	if out.Data == nil {
		out.Data = []jobs.Job{}
	}
	if f.Limit > 0 && len(js) == f.Limit {
		out.NextCursor = js[len(js)-1].ID
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) handleGetJob(c echo.Context) error {
	j, err := s.Jobs.Job(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, j)
}

func (s *Server) handleJobItems(c echo.Context) error {
	var after int64
	if v := c.QueryParam("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return ragd.Errorf(ragd.EInvalid, "after must be a non-negative item sequence number, got %q", v)
		}
		after = n
	}
	limit := 100
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return ragd.Errorf(ragd.EInvalid, "limit must be between 1 and 1000, got %q", v)
		}
		limit = n
	}
	items, err := s.Jobs.Items(c.Request().Context(), c.Param("id"), after, limit)
	if err != nil {
		return err
	}
	out := list[jobs.Item]{Data: items}
	if out.Data == nil {
		out.Data = []jobs.Item{}
	}
	if len(items) == limit {
		out.NextCursor = strconv.FormatInt(items[len(items)-1].Seq, 10)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) handleCancelJob(c echo.Context) error {
	j, err := s.Jobs.Cancel(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, j)
}

// handleJobEvents streams a job's progress as Server-Sent Events until the
// job ends (a "done" event) or the client goes away.
func (s *Server) handleJobEvents(c echo.Context) error {
	ctx := c.Request().Context()
	events, err := s.Jobs.Events(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	sse := &sseWriter{w: c.Response()}
	sse.start()
	for {
		select {
		case <-s.closing:
			return sse.event("error", ErrorBody{Error: ErrorDetail{Code: ragd.EUnavailable, Message: errShutdown.Message}})
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if err := sse.event(ev.Type, ev); err != nil {
				return nil // the client is gone
			}
		}
	}
}
