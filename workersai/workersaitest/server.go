// Package workersaitest runs a fake Cloudflare Workers AI for tests: the
// REST API (POST /client/v4/accounts/{account}/ai/run/{model}) and AI
// Gateway's route (POST /v1/{account}/{gateway}/workers-ai/{model}), with
// Workers AI's wire formats: the {result, success, errors, messages}
// envelope, BGE embeddings ({shape, data}), bge-reranker-base scores, and
// the text-generation stream (data: {"response": ...} events, a usage
// event, data: [DONE]). Steps script failures: 429s with and without
// Retry-After, error codes 3036 and 3040, 5xx, error objects mid-stream,
// dropped connections, stalls, huge lines.
package workersaitest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/ragd/ragd/upstream/upstreamtest"
	"github.com/ragd/ragd/workersai"
)

// Account and Token are the credentials the fake accepts.
const (
	Account = "0123456789abcdef0123456789abcdef"
	Token   = "test-token-not-a-secret"
	Gateway = "ragd-gw"
	// LogID is the cf-aig-log-id the fake's gateway route answers with.
	LogID = "01JFAKEGATEWAYLOGID0000000"
)

// Options configure a fake server.
type Options struct {
	// Answer is what chat streams say, split into word tokens. Default
	// "The answer is 42 [1]."
	Answer string
	// TokenDelay waits between deltas (a slow model); zero answers at
	// once.
	TokenDelay time.Duration
	// Chunk, when positive, writes streams in pieces of that many bytes,
	// splitting UTF-8 characters and data lines.
	Chunk int
	// NoUsage leaves the usage object out of streams.
	NoUsage bool
	// OpenAIChunks streams OpenAI-style chunks with cumulative usage on
	// each, as newer models on the same endpoint do.
	OpenAIChunks bool
	// Script scripts the first requests' answers, in order.
	Script []upstreamtest.Step
}

// Server is a running fake Workers AI.
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

// Config returns a client configuration for the fake's REST API.
func (s *Server) Config() workersai.Config {
	return workersai.Config{BaseURL: s.URL, AccountID: Account, APIToken: Token, HTTPClient: s.srv.Client()}
}

// GatewayConfig returns a client configuration that goes through the
// fake's AI Gateway route.
func (s *Server) GatewayConfig() workersai.Config {
	c := s.Config()
	c.Gateway = Gateway
	c.GatewayURL = s.URL
	return c
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	req, step := s.Begin(r)
	model, gateway, ok := route(r.URL.Path)
	if !ok || r.Method != http.MethodPost {
		writeEnvelopeError(w, http.StatusNotFound, 7000, "No route for that URI")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+Token {
		writeEnvelopeError(w, http.StatusUnauthorized, workersai.CodeAuthentication, "Authentication error")
		return
	}
	if gateway {
		w.Header().Set("cf-aig-log-id", LogID)
		status := "MISS"
		if r.Header.Get("cf-aig-skip-cache") == "true" {
			status = "BYPASS"
		}
		w.Header().Set("cf-aig-cache-status", status)
	}
	if !upstreamtest.Sleep(r.Context(), step.DelayFirst) {
		s.Canceled(req)
		return
	}
	if step.Status != 0 {
		if step.RetryAfter != "" {
			w.Header().Set("Retry-After", step.RetryAfter)
		}
		writeEnvelopeError(w, step.Status, step.Code, messageFor(step.Code))
		return
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(req.Body, &in); err != nil {
		writeEnvelopeError(w, http.StatusBadRequest, workersai.CodeInvalidData, "Invalid JSON body")
		return
	}
	switch {
	case strings.HasPrefix(model, "@cf/baai/bge-reranker"):
		s.rerank(w, in)
	case strings.HasPrefix(model, "@cf/baai/bge-"):
		s.embed(w, model, in)
	case strings.HasPrefix(model, "@cf/meta/"):
		s.chat(w, r, req, step, in)
	default:
		writeEnvelopeError(w, http.StatusBadRequest, workersai.CodeNoSuchModel, "No such model "+model+" or task")
	}
}

// route parses a REST or gateway path into the model name.
func route(path string) (model string, gateway bool, ok bool) {
	if rest, found := strings.CutPrefix(path, "/client/v4/accounts/"+Account+"/ai/run/"); found {
		return rest, false, rest != ""
	}
	if rest, found := strings.CutPrefix(path, "/v1/"+Account+"/"+Gateway+"/workers-ai/"); found {
		return rest, true, rest != ""
	}
	return "", false, false
}

func messageFor(code int) string {
	switch code {
	case workersai.CodeDailyAllocation:
		return "AiError: You have used up your daily free allocation of 10,000 neurons. Please upgrade to Cloudflare's Workers Paid plan if you would like to continue usage."
	case workersai.CodeOutOfCapacity:
		return "AiError: No more data centers to forward the request to"
	case workersai.CodeNoSuchModel:
		return "AiError: No such model or task"
	case workersai.CodeInvalidData:
		return "AiError: Invalid data"
	}
	return "AiError: Internal server error (account " + Account + ")"
}

func writeEnvelopeError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body, _ := json.Marshal(map[string]any{
		"result":   nil,
		"success":  false,
		"errors":   []map[string]any{{"code": code, "message": msg}},
		"messages": []any{},
	})
	w.Write(body)
}

func writeResult(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	body, _ := json.Marshal(map[string]any{"result": result, "success": true, "errors": []any{}, "messages": []any{}})
	w.Write(body)
}

// Vector is the fake's embedding of text: deterministic, unit length, dim
// components.
func Vector(text string, dim int) []float32 {
	v := make([]float32, dim)
	var sum float64
	for i := range v {
		h := fnv.New64a()
		fmt.Fprintf(h, "%d:%s", i, text)
		x := float64(int64(h.Sum64()%2000)-1000) / 1000
		v[i] = float32(x)
		sum += x * x
	}
	inv := 1 / math.Sqrt(sum)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return v
}

func (s *Server) embed(w http.ResponseWriter, model string, in map[string]json.RawMessage) {
	dim := workersai.EmbeddingDimension(model)
	if dim == 0 {
		writeEnvelopeError(w, http.StatusBadRequest, workersai.CodeNoSuchModel, "No such model "+model+" or task")
		return
	}
	var texts []string
	if err := json.Unmarshal(in["text"], &texts); err != nil {
		var one string
		if json.Unmarshal(in["text"], &one) != nil || one == "" {
			writeEnvelopeError(w, http.StatusBadRequest, workersai.CodeInvalidData, "Type mismatch of '/text', 'string' not in 'array','string'")
			return
		}
		texts = []string{one}
	}
	if len(texts) == 0 || len(texts) > workersai.MaxBatch {
		writeEnvelopeError(w, http.StatusBadRequest, workersai.CodeInvalidData, "Array must have between 1 and 100 items")
		return
	}
	data := make([][]float32, len(texts))
	for i, t := range texts {
		if t == "" {
			writeEnvelopeError(w, http.StatusBadRequest, workersai.CodeInvalidData, "String should have at least 1 character")
			return
		}
		data[i] = Vector(t, dim)
	}
	pooling := "mean"
	if p, ok := in["pooling"]; ok {
		json.Unmarshal(p, &pooling)
	}
	writeResult(w, map[string]any{"shape": []int{len(texts), dim}, "data": data, "pooling": pooling})
}

// Score is the fake reranker's score: the share of the query's words that
// occur in the document.
func Score(query, doc string) float64 {
	words := strings.Fields(strings.ToLower(query))
	if len(words) == 0 {
		return 0
	}
	d := strings.ToLower(doc)
	n := 0
	for _, w := range words {
		if strings.Contains(d, w) {
			n++
		}
	}
	return float64(n) / float64(len(words))
}

func (s *Server) rerank(w http.ResponseWriter, in map[string]json.RawMessage) {
	var query string
	var contexts []struct{ Text string }
	if json.Unmarshal(in["query"], &query) != nil || json.Unmarshal(in["contexts"], &contexts) != nil || query == "" {
		writeEnvelopeError(w, http.StatusBadRequest, workersai.CodeInvalidData, "Required properties at '/' are 'query', 'contexts'")
		return
	}
	type item struct {
		ID    int     `json:"id"`
		Score float64 `json:"score"`
	}
	out := make([]item, len(contexts))
	for i, c := range contexts {
		out[i] = item{ID: i, Score: Score(query, c.Text)}
	}
	// best first, as the API answers
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Score > out[j-1].Score; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	writeResult(w, map[string]any{"response": out})
}

// padding is the "p" field Workers AI adds to stream events.
const padding = "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnop"

func (s *Server) chat(w http.ResponseWriter, r *http.Request, req *upstreamtest.Request, step upstreamtest.Step, in map[string]json.RawMessage) {
	var msgs []struct{ Role, Content string }
	if json.Unmarshal(in["messages"], &msgs) != nil || len(msgs) == 0 {
		writeEnvelopeError(w, http.StatusBadRequest, workersai.CodeInvalidData, "Type mismatch of '/messages'")
		return
	}
	var stream bool
	json.Unmarshal(in["stream"], &stream)
	tokens := upstreamtest.Tokens(s.opts.Answer)
	if step.HugeToken > 0 {
		tokens = append([]string{strings.Repeat("x", step.HugeToken)}, tokens...)
	}
	prompt := 0
	for _, m := range msgs {
		prompt += len(strings.Fields(m.Content)) + 4
	}
	if !stream {
		writeResult(w, map[string]any{"response": strings.Join(tokens, ""), "usage": usage(prompt, len(tokens))})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
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
	if step.ErrorAfter < 0 {
		out.Event(errorEvent())
		return
	}
	for i, t := range tokens {
		if i > 0 && !upstreamtest.Sleep(r.Context(), s.opts.TokenDelay) {
			fail()
			return
		}
		var ev []byte
		if len(t) > 64<<10 {
			// a huge plain token: skip the encoder, it is only x's
			ev = []byte(`{"response":"` + t + `"}`)
		} else {
			ev, _ = json.Marshal(map[string]any{"response": t, "p": padding[:1+i%len(padding)]})
		}
		if s.opts.OpenAIChunks {
			ev, _ = json.Marshal(map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1767225600, "model": "@cf/meta/llama-3.1-8b-instruct",
				"choices": []map[string]any{{"index": 0, "delta": map[string]any{"content": t}, "logprobs": nil, "finish_reason": nil}},
				"usage":   usage(prompt, i+1)})
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
			out.Event(errorEvent())
			return
		}
	}
	if step.NoDone {
		return
	}
	if !s.opts.NoUsage {
		ev, _ := json.Marshal(map[string]any{"response": "", "usage": usage(prompt, len(tokens))})
		if out.Event(ev) != nil {
			fail()
			return
		}
	}
	if out.Event([]byte("[DONE]")) != nil {
		fail()
	}
}

func errorEvent() []byte {
	b, _ := json.Marshal(map[string]any{"errors": []map[string]any{{"code": 3043, "message": "AiError: Inference upstream error"}}, "success": false})
	return b
}

func usage(prompt, completion int) map[string]int {
	return map[string]int{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
}

// RetryAfterSeconds formats a Retry-After header value.
func RetryAfterSeconds(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
