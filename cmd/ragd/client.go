package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest/jobs"
)

// client talks to a ragd server for the CLI commands.
type client struct {
	base   string
	apiKey string
	http   *http.Client
}

func newClient(base, apiKey string) *client {
	return &client{base: strings.TrimRight(base, "/"), apiKey: apiKey, http: &http.Client{}}
}

// apiError is the server's error envelope.
type apiError struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

func (c *client) request(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	return req, nil
}

// send does a request and returns the response, or the server's error as a
// *ragd.Error.
func (c *client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, ragd.WrapError(ragd.EUnavailable, err, "cannot reach the ragd server at %s (start it with `ragd serve`, or use --local)", c.base)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e apiError
	if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
		return nil, &ragd.Error{Code: e.Error.Code, Message: e.Error.Message}
	}
	return nil, ragd.Errorf(ragd.EUpstream, "ragd server answered %s", resp.Status)
}

// do sends a JSON request and decodes the JSON response into out.
func (c *client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	req, err := c.request(ctx, method, path, body, ct)
	if err != nil {
		return err
	}
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s response: %w", method, path, err)
	}
	return nil
}

func collectionPath(name string, rest ...string) string {
	p := "/v1/collections/" + url.PathEscape(name)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// uploadFile is a local file to upload.
type uploadFile struct {
	Name string // the source name sent as the part's file name
	Data []byte
}

// documentResult is one entry of an upload response.
type documentResult struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Source   string `json:"source"`
	Status   string `json:"status"`
	Chunks   int    `json:"chunk_count"`
	Embedded int    `json:"embedded"`
	Error    *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// upload sends files as one multipart request.
func (c *client) upload(ctx context.Context, collection string, files []uploadFile) ([]documentResult, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, f.Name))
		h.Set("Content-Type", "application/octet-stream")
		w, err := mw.CreatePart(h)
		if err != nil {
			return nil, err
		}
		w.Write(f.Data)
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	req, err := c.request(ctx, http.MethodPost, collectionPath(collection, "documents"), &buf, mw.FormDataContentType())
	if err != nil {
		return nil, err
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Data []documentResult `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("decode upload response: %w", err)
	}
	return out.Data, nil
}

// stream posts a query and calls onEvent for each server-sent event. It
// returns an error for an error event or a stream that ends without done.
func (c *client) stream(ctx context.Context, path string, in any, onEvent func(name string, data []byte) error) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := c.request(ctx, http.MethodPost, path, bytes.NewReader(b), "application/json")
	if err != nil {
		return err
	}
	return c.events(req, "the answer stream", onEvent)
}

// events sends req for a server-sent event stream and reads the stream
// with readSSE; what names it in errors.
func (c *client) events(req *http.Request, what string, onEvent func(name string, data []byte) error) error {
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return readSSE(resp.Body, what, onEvent)
}

// readSSE reads server-sent events from body, calling onEvent for each,
// until a done event (nil), an error event (the server's error) or the end
// of the stream (an error naming what, the stream).
func readSSE(body io.Reader, what string, onEvent func(name string, data []byte) error) error {
	r := bufio.NewReader(body)
	var name string
	var data []byte
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return ragd.Errorf(ragd.EUpstream, "%s ended before its done event", what)
			}
			return ragd.WrapError(ragd.EUnavailable, err, "%s was cut", what)
		}
		// A line ends with LF, CRLF or a lone CR.
		for _, line := range strings.Split(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), "\r") {
			switch {
			case line == "":
				if name == "" && data == nil {
					continue
				}
				if name == "error" {
					var e apiError
					if json.Unmarshal(data, &e) == nil {
						return &ragd.Error{Code: e.Error.Code, Message: e.Error.Message}
					}
					return ragd.Errorf(ragd.EUpstream, "%s failed", what)
				}
				if err := onEvent(name, data); err != nil {
					return err
				}
				if name == "done" {
					return nil
				}
				name, data = "", nil
			case strings.HasPrefix(line, "event:"):
				name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")...)
			}
		}
	}
}

// health checks that the server answers /healthz.
func (c *client) health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil)
}

// submitJob posts a batch job.
func (c *client) submitJob(ctx context.Context, spec jobs.Spec) (jobs.Job, error) {
	var j jobs.Job
	err := c.do(ctx, http.MethodPost, "/v1/jobs", spec, &j)
	return j, err
}

// jobs lists the newest jobs of a collection.
func (c *client) jobs(ctx context.Context, collection string, limit int) ([]jobs.Job, error) {
	var out struct {
		Data []jobs.Job `json:"data"`
	}
	q := url.Values{"collection": {collection}, "limit": {strconv.Itoa(limit)}}
	err := c.do(ctx, http.MethodGet, "/v1/jobs?"+q.Encode(), nil, &out)
	return out.Data, err
}

// jobEvents follows a job's event stream, calling onEvent for each event,
// until its done event.
func (c *client) jobEvents(ctx context.Context, id string, onEvent func(jobs.Event) error) error {
	req, err := c.request(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/events", nil, "")
	if err != nil {
		return err
	}
	return c.events(req, "the job's event stream", func(name string, data []byte) error {
		var ev jobs.Event
		if err := json.Unmarshal(data, &ev); err != nil {
			return ragd.WrapError(ragd.EUpstream, err, "the job's event stream sent a malformed %s event", name)
		}
		return onEvent(ev)
	})
}

// jobItems returns up to limit finished items of a job after the given
// sequence number.
func (c *client) jobItems(ctx context.Context, id string, after int64, limit int) ([]jobs.Item, error) {
	var out struct {
		Data []jobs.Item `json:"data"`
	}
	q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {strconv.Itoa(limit)}}
	err := c.do(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/items?"+q.Encode(), nil, &out)
	return out.Data, err
}
