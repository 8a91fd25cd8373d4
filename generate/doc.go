// Package generate answers questions from retrieved sources: it builds a
// prompt with numbered sources fitted to the model's token budget, streams
// the LLM's answer, checks its citations, and falls back to an extractive
// answer when no LLM is configured.
package generate

import (
	"context"

	"github.com/ragd/ragd"
)

// ChatStreamer streams a chat completion. It calls onDelta with each piece
// of text as it arrives, in order, and returns the usage when the stream
// ends. If onDelta returns an error, ChatStream stops and returns it.
// Errors are *ragd.Error: ERateLimited (with RetryAfter when known),
// EUpstream for upstream failures, timeouts and broken or truncated
// streams, EUnavailable (with RetryAfter) when the upstream cannot be
// reached, is out of capacity or its circuit breaker is open, EInvalid for
// requests the model rejects (model not found, input too long, content
// filtered). Cancelling ctx cancels the upstream request; the error then
// wraps context.Canceled.
type ChatStreamer interface {
	ChatStream(ctx context.Context, req ragd.ChatRequest, onDelta func(text string) error) (ragd.Usage, error)
}
