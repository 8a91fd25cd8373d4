package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
)

type createCollectionRequest struct {
	Name     string         `json:"name"`
	Embedder string         `json:"embedder"`
	Chunking *ragd.Chunking `json:"chunking"`
}

func (s *Server) handleCreateCollection(c echo.Context) error {
	var req createCollectionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	coll := ragd.Collection{Name: req.Name, Embedder: req.Embedder}
	if req.Chunking != nil {
		coll.Chunking = *req.Chunking
		if coll.Chunking == (ragd.Chunking{}) {
			return ragd.Errorf(ragd.EInvalid, "chunking.max_tokens must be set when chunking is given")
		}
	}
	created, err := s.Ingester.CreateCollection(c.Request().Context(), coll)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, created)
}

func (s *Server) handleListCollections(c echo.Context) error {
	colls, err := s.Catalog.Collections(c.Request().Context())
	if err != nil {
		return err
	}
	if colls == nil {
		colls = []ragd.Collection{}
	}
	return c.JSON(http.StatusOK, list[ragd.Collection]{Data: colls})
}

func (s *Server) handleGetCollection(c echo.Context) error {
	coll, err := s.Catalog.Collection(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, coll)
}

func (s *Server) handleDeleteCollection(c echo.Context) error {
	if err := s.Catalog.DeleteCollection(c.Request().Context(), c.Param("name")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
