package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
)

// decodeJSON decodes the request body into v strictly: JSON content type,
// no unknown fields, one value. Errors are EInvalid (or ETooLarge) naming
// the problem.
func decodeJSON(c echo.Context, v any) error {
	if ct := c.Request().Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != echo.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json")) {
			return ragd.Errorf(ragd.EUnsupported, "request body must be application/json, got %q", ct)
		}
	}
	data, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return bodyError(err, "request body")
	}
	return unmarshalStrict(data, v)
}

func unmarshalStrict(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return ragd.Errorf(ragd.EInvalid, "request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return ragd.Errorf(ragd.EInvalid, "request body has data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		return ragd.Errorf(ragd.EInvalid, "request body is not valid JSON: %s at byte %d", syntax.Error(), syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return ragd.Errorf(ragd.EInvalid, "field %q must be %s, not %s", typ.Field, typ.Type.String(), typ.Value)
		}
		return ragd.Errorf(ragd.EInvalid, "request body must be a JSON object, not %s", typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return ragd.Errorf(ragd.EInvalid, "request body has an unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ragd.Errorf(ragd.EInvalid, "request body is truncated JSON")
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return bodyError(err, "request body")
	}
	return ragd.WrapError(ragd.EInvalid, err, "request body is not valid JSON")
}

// list is the envelope of list responses.
type list[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}
