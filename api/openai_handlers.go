package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/generate"
	"github.com/ragd/ragd/ingest"
)

// OpenAI configures the OpenAI-compatible endpoints: /v1/models,
// /v1/embeddings and /v1/chat/completions.
type OpenAI struct {
	// Chat answers plain chat completions (no collection named); nil when
	// ragd has no LLM, and plain chat is then refused.
	Chat generate.ChatStreamer
	// ChatModel is the LLM model name listed and used by default.
	ChatModel string
	// Embedder returns a named embedder for /v1/embeddings.
	Embedder func(ctx context.Context, name string) (ingest.Embedder, error)
	// Embedders lists the embedder names /v1/models shows; the first is the
	// default of /v1/embeddings.
	Embedders []string
	// CountTokens counts embedding input tokens for usage.
	CountTokens func(string) int
}

// openAIModel is an entry of GET /v1/models.
type openAIModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (s *Server) handleOpenAIModels(c echo.Context) error {
	now := time.Now().Unix()
	var models []openAIModel
	if s.OpenAI.ChatModel != "" {
		models = append(models, openAIModel{ID: s.OpenAI.ChatModel, Object: "model", Created: now, OwnedBy: "ragd"})
	}
	for _, e := range s.OpenAI.Embedders {
		models = append(models, openAIModel{ID: e, Object: "model", Created: now, OwnedBy: "ragd"})
	}
	colls, err := s.Catalog.Collections(c.Request().Context())
	if err != nil {
		return err
	}
	for _, coll := range colls {
		models = append(models, openAIModel{ID: "rag:" + coll.Name, Object: "model", Created: coll.CreatedAt.Unix(), OwnedBy: "ragd"})
	}
	if models == nil {
		models = []openAIModel{}
	}
	return c.JSON(http.StatusOK, map[string]any{"object": "list", "data": models})
}

type embeddingsRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     int             `json:"dimensions"`
}

// maxEmbeddingInputs bounds the texts of one /v1/embeddings request.
const maxEmbeddingInputs = 2048

func (s *Server) handleOpenAIEmbeddings(c echo.Context) error {
	var req embeddingsRequest
	if err := decodeLenient(c, &req); err != nil {
		return err
	}
	var inputs []string
	if err := json.Unmarshal(req.Input, &inputs); err != nil {
		var one string
		if err := json.Unmarshal(req.Input, &one); err != nil {
			return ragd.Errorf(ragd.EInvalid, "input must be a string or an array of strings (token arrays are not supported)")
		}
		inputs = []string{one}
	}
	if len(inputs) == 0 || len(inputs) > maxEmbeddingInputs {
		return ragd.Errorf(ragd.EInvalid, "input must hold 1 to %d texts, got %d", maxEmbeddingInputs, len(inputs))
	}
	for i, in := range inputs {
		if strings.TrimSpace(in) == "" {
			return ragd.Errorf(ragd.EInvalid, "input %d is empty", i)
		}
	}
	if req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64" {
		return ragd.Errorf(ragd.EInvalid, "encoding_format must be \"float\" or \"base64\", got %q", req.EncodingFormat)
	}
	if req.Dimensions != 0 {
		return ragd.Errorf(ragd.EInvalid, "dimensions is not supported: ragd's embedders return their full size")
	}
	model := req.Model
	if model == "" && len(s.OpenAI.Embedders) > 0 {
		model = s.OpenAI.Embedders[0]
	}
	emb, err := s.OpenAI.Embedder(c.Request().Context(), model)
	if err != nil {
		return err
	}
	vecs, err := emb.EmbedDocuments(c.Request().Context(), inputs)
	if err != nil {
		return err
	}
	tokens := 0
	data := make([]map[string]any, len(vecs))
	for i, v := range vecs {
		var e any = v
		if req.EncodingFormat == "base64" {
			b := make([]byte, 4*len(v))
			for j, x := range v {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
			}
			e = base64.StdEncoding.EncodeToString(b)
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": e}
		if s.OpenAI.CountTokens != nil {
			tokens += s.OpenAI.CountTokens(inputs[i])
		}
	}
	return c.JSON(http.StatusOK, map[string]any{
		"object": "list", "data": data, "model": model,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens},
	})
}

// chatRequest is OpenAI's chat completion request, with ragd's
// "collection" (also given as model "rag:NAME") and retrieval options.
type chatRequest struct {
	Model         string         `json:"model"`
	Messages      []ragd.Message `json:"messages"`
	Stream        bool           `json:"stream"`
	MaxTokens     int            `json:"max_tokens"`
	MaxCompletion int            `json:"max_completion_tokens"`
	Temperature   *float64       `json:"temperature"`
	TopP          *float64       `json:"top_p"`
	N             int            `json:"n"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Collection string          `json:"collection"`
	TopK       int             `json:"top_k"`
	Filter     json.RawMessage `json:"filter"`
}

// chatCompletion is one streamed chunk or the whole answer.
type chatCompletion struct {
	ID      string         `json:"id"`
	Object  string         `json:"object"`
	Created int64          `json:"created"`
	Model   string         `json:"model"`
	Choices []chatChoice   `json:"choices"`
	Usage   *openAIUsage   `json:"usage,omitempty"`
	Sources []ragd.Source  `json:"sources,omitempty"`
	Ragd    *chatRagdExtra `json:"ragd,omitempty"`
}

type chatChoice struct {
	Index        int           `json:"index"`
	Delta        *ragd.Message `json:"delta,omitempty"`
	Message      *ragd.Message `json:"message,omitempty"`
	FinishReason *string       `json:"finish_reason"`
}

type openAIUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// chatRagdExtra carries what a RAG answer adds to OpenAI's shape.
type chatRagdExtra struct {
	Citations []int          `json:"citations"`
	Retrieval ragd.Retrieval `json:"retrieval"`
}

func (s *Server) handleOpenAIChat(c echo.Context) error {
	var req chatRequest
	if err := decodeLenient(c, &req); err != nil {
		return err
	}
	if req.N > 1 {
		return ragd.Errorf(ragd.EInvalid, "n must be 1")
	}
	if len(req.Messages) == 0 {
		return ragd.Errorf(ragd.EInvalid, "messages must not be empty")
	}
	for i, m := range req.Messages {
		switch m.Role {
		case ragd.RoleSystem, ragd.RoleUser, ragd.RoleAssistant, "developer":
		default:
			return ragd.Errorf(ragd.EInvalid, "messages[%d].role %q is not supported", i, m.Role)
		}
	}
	maxTokens := req.MaxTokens
	if req.MaxCompletion > 0 {
		maxTokens = req.MaxCompletion
	}
	collection := req.Collection
	if name, ok := strings.CutPrefix(req.Model, "rag:"); ok {
		collection = name
	}
	var b [12]byte
	rand.Read(b[:])
	cc := chatCompletion{ID: "chatcmpl-" + hex.EncodeToString(b[:]), Created: time.Now().Unix(), Model: req.Model}
	if collection != "" {
		return s.ragChat(c, req, collection, maxTokens, cc)
	}
	if s.OpenAI.Chat == nil {
		return ragd.Errorf(ragd.EInvalid, "ragd has no LLM for plain chat; name a collection (\"collection\" or model \"rag:NAME\") for an extractive answer, or configure RAGD_LLM")
	}
	if maxTokens <= 0 {
		maxTokens = generate.DefaultMaxTokens
	}
	model := req.Model
	if model == "" || model == s.OpenAI.ChatModel {
		model = s.OpenAI.ChatModel
	}
	cc.Model = model
	chat := ragd.ChatRequest{Model: model, Messages: req.Messages, MaxTokens: maxTokens, Temperature: req.Temperature, TopP: req.TopP}
	w := newChatWriter(c, req, cc)
	usage, err := s.OpenAI.Chat.ChatStream(c.Request().Context(), chat, w.delta)
	if err != nil {
		return w.fail(err)
	}
	return w.finish(usage, nil)
}

// ragChat answers from a collection: the last user message is the question.
func (s *Server) ragChat(c echo.Context, req chatRequest, collection string, maxTokens int, cc chatCompletion) error {
	question := ""
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == ragd.RoleUser {
			question = req.Messages[i].Content
			break
		}
	}
	if strings.TrimSpace(question) == "" {
		return ragd.Errorf(ragd.EInvalid, "a RAG chat needs a user message with the question")
	}
	f, err := ragd.ParseFilter(req.Filter)
	if err != nil {
		return err
	}
	q := ragd.Question{Collection: collection, Query: question, TopK: req.TopK, Filter: f, MaxTokens: maxTokens, Temperature: req.Temperature}
	if !strings.HasPrefix(req.Model, "rag:") {
		q.Model = req.Model
	}
	var (
		w     *chatWriter
		extra chatRagdExtra
	)
	err = s.Answerer.Answer(c.Request().Context(), q, func(e generate.Event) error {
		switch e.Kind {
		case generate.EventSources:
			cc.Sources = e.Sources
			if cc.Model == "" {
				cc.Model = e.Model
			}
			extra.Retrieval = e.Retrieval
			w = newChatWriter(c, req, cc)
			return w.begin()
		case generate.EventDelta:
			return w.delta(e.Text)
		case generate.EventDone:
			extra.Citations = e.Citations
			return w.finish(e.Usage, &extra)
		}
		return nil
	})
	if err != nil && w != nil && w.started {
		return w.fail(err)
	}
	return err
}

// chatWriter writes an OpenAI chat completion, streamed as
// chat.completion.chunk events ending in [DONE], or as one object.
type chatWriter struct {
	c       echo.Context
	req     chatRequest
	cc      chatCompletion
	sse     *sseWriter
	text    strings.Builder
	started bool
}

func newChatWriter(c echo.Context, req chatRequest, cc chatCompletion) *chatWriter {
	return &chatWriter{c: c, req: req, cc: cc, sse: &sseWriter{w: c.Response()}}
}

// begin sends the first chunk (role and, for RAG, the sources).
func (w *chatWriter) begin() error {
	if !w.req.Stream || w.started {
		return nil
	}
	w.started = true
	chunk := w.cc
	chunk.Object = "chat.completion.chunk"
	chunk.Choices = []chatChoice{{Delta: &ragd.Message{Role: ragd.RoleAssistant}}}
	return w.data(chunk)
}

func (w *chatWriter) delta(text string) error {
	w.text.WriteString(text)
	if !w.req.Stream {
		return nil
	}
	if err := w.begin(); err != nil {
		return err
	}
	chunk := chatCompletion{ID: w.cc.ID, Object: "chat.completion.chunk", Created: w.cc.Created, Model: w.cc.Model,
		Choices: []chatChoice{{Delta: &ragd.Message{Content: text}}}}
	return w.data(chunk)
}

func (w *chatWriter) finish(u ragd.Usage, extra *chatRagdExtra) error {
	stop := "stop"
	usage := &openAIUsage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.PromptTokens + u.CompletionTokens}
	if !w.req.Stream {
		out := w.cc
		out.Object = "chat.completion"
		out.Choices = []chatChoice{{Message: &ragd.Message{Role: ragd.RoleAssistant, Content: w.text.String()}, FinishReason: &stop}}
		out.Usage, out.Ragd = usage, extra
		return w.c.JSON(http.StatusOK, out)
	}
	if err := w.begin(); err != nil {
		return err
	}
	last := chatCompletion{ID: w.cc.ID, Object: "chat.completion.chunk", Created: w.cc.Created, Model: w.cc.Model,
		Choices: []chatChoice{{Delta: &ragd.Message{}, FinishReason: &stop}}, Ragd: extra}
	if err := w.data(last); err != nil {
		return err
	}
	if w.req.StreamOptions != nil && w.req.StreamOptions.IncludeUsage {
		if err := w.data(chatCompletion{ID: w.cc.ID, Object: "chat.completion.chunk", Created: w.cc.Created, Model: w.cc.Model, Choices: []chatChoice{}, Usage: usage}); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w.c.Response(), "data: [DONE]\n\n")
	w.c.Response().Flush()
	return err
}

// fail ends a started stream with an error object (the shape OpenAI's
// SDKs raise), or returns err for an ordinary error response.
func (w *chatWriter) fail(err error) error {
	if !w.started || w.c.Request().Context().Err() != nil {
		return err
	}
	body := ErrorBody{Error: ErrorDetail{Code: ragd.ErrorCode(err), Message: ragd.ErrorMessage(err), RequestID: w.c.Response().Header().Get(echo.HeaderXRequestID)}}
	return w.data(body)
}

// data writes one unnamed SSE event, as OpenAI's streams do.
func (w *chatWriter) data(v any) error {
	if !w.sse.started {
		w.sse.start()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := w.c.Response().Write(append(append([]byte("data: "), b...), '\n', '\n')); err != nil {
		return err
	}
	w.c.Response().Flush()
	return nil
}

// decodeLenient decodes a JSON body, ignoring unknown fields, as OpenAI
// clients send many that ragd does not use.
func decodeLenient(c echo.Context, v any) error {
	data, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return bodyError(err, "request body")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return ragd.Errorf(ragd.EInvalid, "request body is empty; send a JSON object")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return jsonError(err)
	}
	return nil
}
