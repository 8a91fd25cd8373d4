// Package openaitest runs a fake OpenAI-compatible server for tests:
// POST {prefix}/chat/completions (streamed chat.completion.chunk events,
// a usage chunk when stream_options.include_usage is set, data: [DONE]),
// POST {prefix}/embeddings, and a TEI-shaped POST /rerank, with OpenAI's
// error objects. Steps script failures as in workersaitest.
package openaitest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"time"

	"github.com/ragd/ragd/openai"
	"github.com/ragd/ragd/upstream/upstreamtest"
	"github.com/ragd/ragd/workersai/workersaitest"
)

// APIKey is the key the fake accepts.
const APIKey = "sk-test-not-a-secret"

// Dim is the size of the fake's embeddings.
const Dim = 384

// Options configure a fake server.
type Options struct {
	// Prefix is the API root path; default "/v1". Use
	// "/client/v4/accounts/{account}/ai/v1" to stand in for Workers AI's
	// OpenAI-compatible endpoint.
	Prefix string
	// Answer is what chat streams say, split into word tokens.
	Answer string
	// TokenDelay waits between deltas; zero answers at once.
	TokenDelay time.Duration
	// Chunk, when positive, writes streams in pieces of that many bytes.
	Chunk int
	// NoUsage ignores stream_options.include_usage, as some servers do.
	NoUsage bool
	// Script scripts the first requests' answers, in order.
	Script []upstreamtest.Step
}

// Server is a running fake.
type Server struct {
	*upstreamtest.Recorder
	URL  string
	opts Options
	srv  *httptest.Server
}

// NewServer starts a fake and stops it when the test ends.
func NewServer(tb interface {
	Helper()
	Cleanup(func())
}, opts Options) *Server {
	tb.Helper()
	if opts.Prefix == "" {
		opts.Prefix = "/v1"
	}
	if opts.Answer == "" {
		opts.Answer = "The answer is 42 [1]."
	}
	s := &Server{Recorder: upstreamtest.NewRecorder(opts.Script), opts: opts}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	s.URL = s.srv.URL
	tb.Cleanup(s.Close)
	return s
}

// Close stops the server, cutting open streams.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Config returns a client configuration for the fake, with a chat model,
// a BGE embedding model and the reranker.
func (s *Server) Config() openai.Config {
	return openai.Config{
		BaseURL:        s.URL + s.opts.Prefix,
		APIKey:         APIKey,
		ChatModel:      "llama3.1:8b",
		EmbeddingModel: "bge-small-en-v1.5",
		RerankURL:      s.URL,
		HTTPClient:     s.srv.Client(),
	}
}

func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}})
}

func writeStepError(w http.ResponseWriter, st upstreamtest.Step) {
	if st.RetryAfter != "" {
		w.Header().Set("Retry-After", st.RetryAfter)
	}
	if st.Code != 0 {
		// Workers AI's OpenAI-compatible endpoints answer in the Cloudflare envelope.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(st.Status)
		json.NewEncoder(w).Encode(map[string]any{"result": nil, "success": false, "errors": []map[string]any{{"code": st.Code, "message": "AiError: upstream failure"}}, "messages": []any{}})
		return
	}
	switch st.Status {
	case http.StatusTooManyRequests:
		writeError(w, st.Status, "requests", "rate_limit_exceeded", "Rate limit reached for requests")
	case http.StatusNotFound:
		writeError(w, st.Status, "invalid_request_error", "model_not_found", "The model `nope` does not exist or you do not have access to it.")
	case http.StatusBadRequest:
		writeError(w, st.Status, "invalid_request_error", "context_length_exceeded", "This model's maximum context length is 8192 tokens.")
	case http.StatusUnauthorized:
		writeError(w, st.Status, "invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-test***")
	default:
		writeError(w, st.Status, "server_error", "", "The server had an error while processing your request. key="+APIKey)
	}
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	req, step := s.Begin(r)
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "", "method not allowed")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+APIKey && r.URL.Path != "/rerank" {
		writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided")
		return
	}
	if !upstreamtest.Sleep(r.Context(), step.DelayFirst) {
		s.Canceled(req)
		return
	}
	if step.Status != 0 {
		writeStepError(w, step)
		return
	}
	switch r.URL.Path {
	case s.opts.Prefix + "/chat/completions":
		s.chat(w, r, req, step)
	case s.opts.Prefix + "/embeddings":
		s.embed(w, req)
	case "/rerank":
		s.rerank(w, req)
	default:
		writeError(w, http.StatusNotFound, "invalid_request_error", "", "Unknown request URL: POST "+r.URL.Path)
	}
}

func (s *Server) embed(w http.ResponseWriter, req *upstreamtest.Request) {
	var in struct {
		Model string
		Input []string
	}
	if err := json.Unmarshal(req.Body, &in); err != nil || len(in.Input) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "'input' is required")
		return
	}
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	data := make([]item, len(in.Input))
	tokens := 0
	for i, t := range in.Input {
		data[i] = item{Object: "embedding", Index: i, Embedding: workersaitest.Vector(t, Dim)}
		tokens += len(strings.Fields(t))
	}
	// Answer out of order, as servers may: clients must use the index.
	for i, j := 0, len(data)-1; i < j; i, j = i+1, j-1 {
		data[i], data[j] = data[j], data[i]
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": in.Model,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens}})
}

func (s *Server) rerank(w http.ResponseWriter, req *upstreamtest.Request) {
	var in struct {
		Query string
		Texts []string
	}
	if err := json.Unmarshal(req.Body, &in); err != nil || in.Query == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		w.Write([]byte(`{"error":"Input validation error: query must not be empty","error_type":"Validation"}`))
		return
	}
	type item struct {
		Index int     `json:"index"`
		Score float64 `json:"score"`
	}
	out := make([]item, len(in.Texts))
	for i, t := range in.Texts {
		out[i] = item{Index: i, Score: workersaitest.Score(in.Query, t)}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request, req *upstreamtest.Request, step upstreamtest.Step) {
	var in struct {
		Model         string
		Messages      []struct{ Role, Content string }
		Stream        bool
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if err := json.Unmarshal(req.Body, &in); err != nil || len(in.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "'messages' is required")
		return
	}
	tokens := upstreamtest.Tokens(s.opts.Answer)
	if step.HugeToken > 0 {
		tokens = append([]string{strings.Repeat("x", step.HugeToken)}, tokens...)
	}
	prompt := 0
	for _, m := range in.Messages {
		prompt += len(strings.Fields(m.Content)) + 4
	}
	usage := map[string]int{"prompt_tokens": prompt, "completion_tokens": len(tokens), "total_tokens": prompt + len(tokens)}
	const id, created = "chatcmpl-fake", 1767225600
	chunk := func(delta map[string]any, finish any) []byte {
		b, _ := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": in.Model,
			"choices": []map[string]any{{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}})
		return b
	}
	if !in.Stream {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": id, "object": "chat.completion", "created": created, "model": in.Model,
			"choices": []map[string]any{{"index": 0, "message": map[string]any{"role": "assistant", "content": strings.Join(tokens, "")}, "finish_reason": "stop"}},
			"usage":   usage})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	out := upstreamtest.Writer{W: w, Chunk: s.opts.Chunk, Ctx: r.Context()}
	fail := func() {
		if r.Context().Err() != nil {
			s.Canceled(req)
		}
	}
	errorEvent := []byte(`{"error":{"object":"error","message":"upstream inference failed","type":"InternalServerError","param":null,"code":500}}`)
	if step.ErrorAfter < 0 {
		out.Event(errorEvent)
		return
	}
	if out.Event(chunk(map[string]any{"role": "assistant", "content": ""}, nil)) != nil {
		fail()
		return
	}
	for i, t := range tokens {
		if i > 0 && !upstreamtest.Sleep(r.Context(), s.opts.TokenDelay) {
			fail()
			return
		}
		ev := chunk(map[string]any{"content": t}, nil)
		if len(t) > 64<<10 {
			// a huge plain token: skip the encoder, it is only x's
			ev = []byte(`{"choices":[{"index":0,"delta":{"content":"` + t + `"},"finish_reason":null}]}`)
		}
		if out.Event(ev) != nil {
			fail()
			return
		}
		sent := i + 1
		switch {
		case step.StallAfter == sent:
			<-r.Context().Done()
			s.Canceled(req)
			return
		case step.DropAfter == sent:
			upstreamtest.Drop(w)
			return
		case step.ErrorAfter == sent:
			out.Event(errorEvent)
			return
		}
	}
	if step.NoDone {
		return
	}
	out.Event(chunk(map[string]any{}, "stop"))
	if in.StreamOptions != nil && in.StreamOptions.IncludeUsage && !s.opts.NoUsage {
		b, _ := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": in.Model, "choices": []any{}, "usage": usage})
		out.Event(b)
	}
	if out.Event([]byte("[DONE]")) != nil {
		fail()
	}
}
