package ragd

// Message roles.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one turn of a chat with an LLM.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ChatRequest is what ragd asks of an LLM. MaxTokens is always set: some
// upstreams (Workers AI) default to a small limit otherwise. Zero
// Temperature and TopP mean the upstream's defaults; TopK 0 means unset.
type ChatRequest struct {
	Model       string
	Messages    []Message
	MaxTokens   int
	Temperature *float64
	TopP        *float64
	TopK        int
}

// Usage counts the tokens of one LLM call.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens,omitempty"`
	// Estimated is true when ragd counted the tokens itself because the
	// upstream did not report them.
	Estimated bool `json:"estimated,omitempty"`
}

// Source is a retrieved chunk as numbered in an answer's prompt: the answer
// cites it as [N].
type Source struct {
	N int `json:"n"`
	Hit
}

// Question is a question to answer from a collection.
type Question struct {
	Collection  string
	Query       string
	TopK        int
	Mode        string
	Filter      *Filter
	MinScore    float64
	MaxTokens   int
	Temperature *float64
	// Model overrides the configured LLM model name, when set.
	Model string
}

// Answer is a complete, non-streamed answer.
type Answer struct {
	Answer    string    `json:"answer"`
	Sources   []Source  `json:"sources"`
	Citations []int     `json:"citations"`
	Usage     Usage     `json:"usage"`
	Retrieval Retrieval `json:"retrieval"`
	// Model names what wrote the answer: an LLM model, or "extractive".
	Model   string  `json:"model"`
	Timings Timings `json:"timings"`
}

// Timings are the durations of an answer's phases, in milliseconds.
type Timings struct {
	RetrievalMS  int64 `json:"retrieval_ms"`
	FirstTokenMS int64 `json:"first_token_ms"`
	TotalMS      int64 `json:"total_ms"`
}
