package api

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
)

type searchRequest struct {
	Query    string          `json:"query"`
	TopK     *int            `json:"top_k"`
	Mode     string          `json:"mode"`
	Filter   json.RawMessage `json:"filter"`
	MinScore float64         `json:"min_score"`
}

type searchResponse struct {
	Data      []ragd.Hit     `json:"data"`
	Retrieval ragd.Retrieval `json:"retrieval"`
}

// question builds the use-case question from the common search fields.
func (r searchRequest) question(collection string) (ragd.Question, error) {
	q := ragd.Question{Collection: collection, Query: r.Query, Mode: r.Mode, MinScore: r.MinScore}
	if r.TopK != nil {
		if *r.TopK < 1 {
			return q, ragd.Errorf(ragd.EInvalid, "top_k must be at least 1, got %d", *r.TopK)
		}
		q.TopK = *r.TopK
	}
	f, err := ragd.ParseFilter(r.Filter)
	if err != nil {
		return q, err
	}
	q.Filter = f
	return q, nil
}

func (s *Server) handleSearch(c echo.Context) error {
	var req searchRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	q, err := req.question(c.Param("name"))
	if err != nil {
		return err
	}
	hits, rep, err := s.Retriever.Retrieve(c.Request().Context(), q)
	if err != nil {
		return err
	}
	s.Metrics.observeRetrieval("search", rep.Mode)
	if hits == nil {
		hits = []ragd.Hit{}
	}
	return c.JSON(http.StatusOK, searchResponse{Data: hits, Retrieval: rep})
}
