package generate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ragd/ragd"
)

// Event kinds of an answer stream, in the order they come.
const (
	EventSources = "sources"
	EventDelta   = "delta"
	EventDone    = "done"
)

// Event is one step of a streamed answer. A stream is one sources event,
// any number of delta events, then one done event; a failure after the
// sources event ends it with the error Answer returns instead.
type Event struct {
	Kind string
	// Sources and Retrieval are set on the sources event.
	Sources   []ragd.Source
	Retrieval ragd.Retrieval
	// Model is set on the sources and done events.
	Model string
	// Text is set on delta events.
	Text string
	// Citations, Usage and Timings are set on the done event.
	Citations []int
	Usage     ragd.Usage
	Timings   ragd.Timings
}

// Retriever finds the sources for a question.
type Retriever interface {
	Retrieve(ctx context.Context, q ragd.Question) ([]ragd.Hit, ragd.Retrieval, error)
}

// Answer limits.
const (
	DefaultMaxTokens = 512
	// DefaultContextWindow is the window assumed for a model whose window
	// is neither known nor configured: 8K, what Llama 3 8B servers run by
	// default. (Workers AI serves Llama 3.1 8B with 7,968; llmtoken knows.)
	DefaultContextWindow = 8192
	MaxTopK              = 50
)

// Answerer answers questions: retrieval, prompt, LLM stream, citations.
type Answerer struct {
	Retriever Retriever
	// LLM streams answers; nil means extractive answers.
	LLM ChatStreamer
	// Model is the LLM model name sent upstream and reported.
	Model string
	// ContextWindow is the model's context window in tokens.
	ContextWindow int
	// MaxTokens is the default answer length; MaxTokensLimit the largest a
	// request may ask for (0: half the context window).
	MaxTokens      int
	MaxTokensLimit int
	// CountTokens counts prompt tokens for the model; nil uses ByteCount,
	// which never under-counts for byte-level BPE tokenizers.
	CountTokens func(string) int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Answer answers q, calling emit with each event as it happens. Errors
// before the sources event (invalid question, unknown collection, store
// down) are returned without any event; an error after it ends the stream.
// If emit returns an error, Answer stops and returns it; cancelling ctx
// cancels the upstream request.
func (a *Answerer) Answer(ctx context.Context, q ragd.Question, emit func(Event) error) error {
	now := a.Now
	if now == nil {
		now = time.Now
	}
	count := a.CountTokens
	if count == nil {
		count = ByteCount
	}
	start := now()
	window := a.ContextWindow
	if window <= 0 {
		window = DefaultContextWindow
	}
	maxTokens, err := a.maxTokens(q.MaxTokens, window)
	if err != nil {
		return err
	}
	if q.Temperature != nil && (*q.Temperature < 0 || *q.Temperature > 2) {
		return ragd.Errorf(ragd.EInvalid, "temperature must be between 0 and 2, got %g", *q.Temperature)
	}
	if q.TopK > MaxTopK {
		return ragd.Errorf(ragd.EInvalid, "top_k must be between 1 and %d for a query, got %d", MaxTopK, q.TopK)
	}
	model := a.Model
	if q.Model != "" {
		model = q.Model
	}
	if a.LLM == nil {
		model = ExtractiveModel
	}
	budget := window - maxTokens
	if a.LLM != nil {
		// Check the question fits before spending a retrieval on it.
		if _, err := BuildPrompt(q.Query, nil, budget, count); err != nil {
			return err
		}
	}
	hits, rep, err := a.Retriever.Retrieve(ctx, q)
	if err != nil {
		return err
	}
	retrieved := now()
	var p Prompt
	if a.LLM != nil {
		if p, err = BuildPrompt(q.Query, hits, budget, count); err != nil {
			return err
		}
	} else {
		for i, h := range hits {
			p.Sources = append(p.Sources, ragd.Source{N: i + 1, Hit: h})
		}
	}
	if p.Sources == nil {
		p.Sources = []ragd.Source{}
	}
	if err := emit(Event{Kind: EventSources, Sources: p.Sources, Retrieval: rep, Model: model}); err != nil {
		return err
	}

	var (
		answer     strings.Builder
		firstToken time.Time
		usage      ragd.Usage
	)
	delta := func(text string) error {
		if text == "" {
			return nil
		}
		if firstToken.IsZero() {
			firstToken = now()
		}
		answer.WriteString(text)
		return emit(Event{Kind: EventDelta, Text: text})
	}
	switch {
	case len(p.Sources) == 0:
		model = "none"
		err = delta(fmt.Sprintf("No sources in collection %q match the question, so there is nothing to answer from.", q.Collection))
	case a.LLM == nil:
		for _, s := range Extract(q.Query, p.Sources) {
			if err = delta(s); err != nil {
				break
			}
		}
	default:
		req := ragd.ChatRequest{Model: model, Messages: p.Messages, MaxTokens: maxTokens, Temperature: q.Temperature}
		usage, err = a.LLM.ChatStream(ctx, req, delta)
		if err == nil && usage.PromptTokens == 0 && usage.CompletionTokens == 0 {
			usage = ragd.Usage{PromptTokens: p.Tokens, CompletionTokens: count(answer.String()), Estimated: true}
		}
		if usage.TotalTokens == 0 {
			usage.TotalTokens = usage.PromptTokens + usage.CompletionTokens
		}
	}
	if err != nil {
		return err
	}
	end := now()
	t := ragd.Timings{
		RetrievalMS: retrieved.Sub(start).Milliseconds(),
		TotalMS:     end.Sub(start).Milliseconds(),
	}
	if !firstToken.IsZero() {
		t.FirstTokenMS = firstToken.Sub(start).Milliseconds()
	}
	return emit(Event{
		Kind:      EventDone,
		Model:     model,
		Citations: Citations(answer.String(), len(p.Sources)),
		Usage:     usage,
		Timings:   t,
	})
}

func (a *Answerer) maxTokens(asked, window int) (int, error) {
	limit := a.MaxTokensLimit
	if limit <= 0 {
		limit = window / 2
	}
	if asked == 0 {
		asked = a.MaxTokens
		if asked <= 0 {
			asked = DefaultMaxTokens
		}
		return min(asked, limit), nil
	}
	if asked < 1 || asked > limit {
		return 0, ragd.Errorf(ragd.EInvalid, "max_tokens must be between 1 and %d, got %d", limit, asked)
	}
	return asked, nil
}

// Collect runs Answer and gathers the stream into one Answer.
func (a *Answerer) Collect(ctx context.Context, q ragd.Question) (ragd.Answer, error) {
	var (
		out  ragd.Answer
		text strings.Builder
	)
	err := a.Answer(ctx, q, func(e Event) error {
		switch e.Kind {
		case EventSources:
			out.Sources, out.Retrieval, out.Model = e.Sources, e.Retrieval, e.Model
		case EventDelta:
			text.WriteString(e.Text)
		case EventDone:
			out.Citations, out.Usage, out.Timings, out.Model = e.Citations, e.Usage, e.Timings, e.Model
		}
		return nil
	})
	out.Answer = text.String()
	return out, err
}
