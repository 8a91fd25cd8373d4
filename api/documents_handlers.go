package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// textDocument is a document given as JSON text.
type textDocument struct {
	ID       string         `json:"id"`
	Title    string         `json:"title"`
	Text     string         `json:"text"`
	Source   string         `json:"source"`
	Metadata map[string]any `json:"metadata"`
}

// createDocumentsJSON is one document, or several under "documents".
type createDocumentsJSON struct {
	textDocument
	Documents []textDocument `json:"documents"`
}

// documentResult is one entry of an upload response: an ingest result, or
// the error of a document that failed while others in the request did not.
type documentResult struct {
	ingest.Result
	Error *ErrorDetail `json:"error,omitempty"`
}

// upload is a parsed upload: files or texts, with request-level metadata.
type upload struct {
	files    []ingest.File
	texts    []textDocument
	metadata map[string]any
}

func (s *Server) handleCreateDocuments(c echo.Context) error {
	up, err := s.readUpload(c)
	if err != nil {
		return err
	}
	return s.ingestUpload(c, up, "")
}

func (s *Server) handlePutDocument(c echo.Context) error {
	id := c.Param("id")
	if err := ingest.ValidateDocumentID(id); err != nil {
		return err
	}
	up, err := s.readUpload(c)
	if err != nil {
		return err
	}
	if len(up.files)+len(up.texts) != 1 {
		return ragd.Errorf(ragd.EInvalid, "PUT replaces one document; the request has %d", len(up.files)+len(up.texts))
	}
	if len(up.texts) == 1 && up.texts[0].ID != "" && up.texts[0].ID != id {
		return ragd.Errorf(ragd.EInvalid, "body id %q does not match the path's %q", up.texts[0].ID, id)
	}
	return s.ingestUpload(c, up, id)
}

// ingestUpload ingests every document of up (all under id, for PUT). It
// answers 201 if anything was indexed or updated, 200 if everything was
// unchanged, and the first error if every document failed.
func (s *Server) ingestUpload(c echo.Context, up upload, id string) error {
	ctx := c.Request().Context()
	coll := c.Param("name")
	if err := ragd.ValidateCollectionName(coll); err != nil {
		return err
	}
	var (
		results  []documentResult
		firstErr error
		changed  bool
	)
	record := func(rs []ingest.Result, err error, source string) {
		// A file may yield documents and an error for the rest of it
		// (records of a CSV or JSON Lines file).
		for _, r := range rs {
			s.Metrics.observeDocument(r.Status, r.Chunks, r.Embedded)
			changed = changed || r.Status != ragd.StatusUnchanged
			results = append(results, documentResult{Result: r})
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			s.Metrics.observeDocument(ragd.StatusFailed, 0, 0)
			results = append(results, documentResult{
				Result: ingest.Result{Source: source, Status: ragd.StatusFailed},
				Error:  &ErrorDetail{Code: ragd.ErrorCode(err), Message: ragd.ErrorMessage(err)},
			})
			if ragd.ErrorCode(err) == ragd.EInternal {
				s.Logger.Error("ingest failed", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "source", source, "err", err)
			}
		}
	}
	for _, f := range up.files {
		f.ID = id
		rs, err := s.Ingester.IngestFile(ctx, coll, f, up.metadata)
		record(rs, err, f.Name)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	for _, t := range up.texts {
		if id != "" {
			t.ID = id
		}
		meta := t.Metadata
		if meta == nil {
			meta = up.metadata
		}
		r, err := s.Ingester.IngestText(ctx, coll, ingest.Text{ID: t.ID, Title: t.Title, Text: t.Text, Source: t.Source, Metadata: meta})
		record([]ingest.Result{r}, err, t.Source)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	failed := 0
	for _, r := range results {
		if r.Status == ragd.StatusFailed {
			failed++
		}
	}
	if failed == len(results) {
		return firstErr
	}
	status := http.StatusOK
	if changed {
		status = http.StatusCreated
	}
	return c.JSON(status, list[documentResult]{Data: results})
}

// readUpload reads a whole upload before anything is ingested, so a
// malformed request changes nothing.
func (s *Server) readUpload(c echo.Context) (upload, error) {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	mt, params, err := mime.ParseMediaType(ct)
	switch {
	case ct == "":
		return upload{}, ragd.Errorf(ragd.EUnsupported, "send documents as multipart/form-data (file parts) or application/json")
	case err != nil:
		return upload{}, ragd.Errorf(ragd.EInvalid, "Content-Type %q is malformed", ct)
	case mt == "multipart/form-data":
		if params["boundary"] == "" {
			return upload{}, ragd.Errorf(ragd.EInvalid, "multipart Content-Type has no boundary")
		}
		return s.readMultipart(c.Request().Body, params["boundary"])
	case mt == echo.MIMEApplicationJSON:
		return readJSONDocuments(c)
	}
	return upload{}, ragd.Errorf(ragd.EUnsupported, "Content-Type %q is not supported; send multipart/form-data or application/json", mt)
}

func readJSONDocuments(c echo.Context) (upload, error) {
	var req createDocumentsJSON
	if err := decodeJSON(c, &req); err != nil {
		return upload{}, err
	}
	docs := req.Documents
	if len(docs) == 0 {
		docs = []textDocument{req.textDocument}
	} else if req.textDocument.Text != "" || req.textDocument.ID != "" {
		return upload{}, ragd.Errorf(ragd.EInvalid, "send either one document or \"documents\", not both")
	}
	for i, d := range docs {
		if strings.TrimSpace(d.Text) == "" {
			return upload{}, ragd.Errorf(ragd.EInvalid, "document %d has no text", i)
		}
		if d.ID != "" {
			if err := ingest.ValidateDocumentID(d.ID); err != nil {
				return upload{}, err
			}
		}
		docs[i].Source = cleanFileName(d.Source)
	}
	return upload{texts: docs}, nil
}

func (s *Server) readMultipart(body io.Reader, boundary string) (upload, error) {
	var up upload
	mr := multipart.NewReader(body, boundary)
	for parts := 0; ; parts++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return upload{}, multipartError(err)
		}
		if parts >= s.Limits.MaxParts {
			return upload{}, ragd.Errorf(ragd.EInvalid, "multipart body has more than %d parts", s.Limits.MaxParts)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return upload{}, multipartError(err)
		}
		switch p.FormName() {
		case "file", "files", "file[]":
			name := cleanFileName(rawFileName(p))
			if name == "" {
				name = "upload-" + strconv.Itoa(len(up.files)+1)
			}
			up.files = append(up.files, ingest.File{Name: name, ContentType: p.Header.Get("Content-Type"), Data: data})
		case "metadata":
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			if err := dec.Decode(&up.metadata); err != nil || up.metadata == nil {
				return upload{}, ragd.Errorf(ragd.EInvalid, "the metadata part must be a JSON object")
			}
			up.metadata = fromJSONNumbers(up.metadata).(map[string]any)
		default:
			return upload{}, ragd.Errorf(ragd.EInvalid, "multipart field %q is not known; use \"file\" parts and an optional \"metadata\" part", p.FormName())
		}
	}
	if len(up.files) == 0 {
		return upload{}, ragd.Errorf(ragd.EInvalid, "multipart body has no \"file\" part")
	}
	return up, nil
}

func multipartError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || tooSlow(err) != nil {
		return bodyError(err, "multipart body")
	}
	return ragd.WrapError(ragd.EInvalid, err, "multipart body is malformed")
}

// rawFileName returns the filename parameter as sent, with its directories
// (multipart.Part.FileName keeps only the base name).
func rawFileName(p *multipart.Part) string {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return p.FileName()
	}
	return params["filename"]
}

// cleanFileName makes a client's file name safe to keep as a document's
// source: forward slashes only, no NUL or control characters, no absolute
// or parent-directory components, at most 512 bytes.
func cleanFileName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r == '\\' {
			return '/'
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	if strings.Contains(name, "://") { // a URL: keep as is
		return truncateBytes(name, 512)
	}
	var parts []string
	for _, el := range strings.Split(path.Clean("/"+name), "/") {
		if el != "" && el != "." && el != ".." {
			parts = append(parts, el)
		}
	}
	return truncateBytes(strings.Join(parts, "/"), 512)
}

func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}

// fromJSONNumbers turns json.Number values into float64.
func fromJSONNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = fromJSONNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = fromJSONNumbers(e)
		}
	}
	return v
}

type documentWithChunks struct {
	ragd.Document
	Chunks []ragd.Chunk `json:"chunks"`
}

func (s *Server) handleListDocuments(c echo.Context) error {
	limit := 100
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return ragd.Errorf(ragd.EInvalid, "limit must be between 1 and 1000, got %q", v)
		}
		limit = n
	}
	ctx := c.Request().Context()
	coll := c.Param("name")
	if _, err := s.Catalog.Collection(ctx, coll); err != nil {
		return err
	}
	docs, err := s.Catalog.Documents(ctx, coll, c.QueryParam("cursor"), limit)
	if err != nil {
		return err
	}
	out := list[ragd.Document]{Data: docs}
	if out.Data == nil {
		out.Data = []ragd.Document{}
	}
	if len(docs) == limit {
		out.NextCursor = docs[len(docs)-1].ID
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) handleGetDocument(c echo.Context) error {
	ctx := c.Request().Context()
	coll, id := c.Param("name"), c.Param("id")
	doc, err := s.Catalog.Document(ctx, coll, id)
	if err != nil {
		return err
	}
	switch c.QueryParam("include") {
	case "":
		return c.JSON(http.StatusOK, doc)
	case "chunks":
		chunks, err := s.Catalog.Chunks(ctx, coll, id)
		if err != nil {
			return err
		}
		if chunks == nil {
			chunks = []ragd.Chunk{}
		}
		return c.JSON(http.StatusOK, documentWithChunks{Document: doc, Chunks: chunks})
	}
	return ragd.Errorf(ragd.EInvalid, "include must be \"chunks\", got %q", c.QueryParam("include"))
}

func (s *Server) handleDeleteDocument(c echo.Context) error {
	if err := s.Catalog.DeleteDocument(c.Request().Context(), c.Param("name"), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
