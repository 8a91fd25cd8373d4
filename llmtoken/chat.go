package llmtoken

import (
	"strings"

	"github.com/ragd/ragd"
)

// Llama 3.1's chat template puts this before the system message's content
// (and emits a system turn holding only it when there is no system
// message). The date is the template's default.
const llama31SystemPreamble = "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"

// CountChat returns the prompt tokens of msgs as Llama 3.1's chat template
// renders them, ready for the assistant's answer:
//
//	<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{preamble}{system}<|eot_id|>
//	<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|> ...
//	<|start_header_id|>assistant<|end_header_id|>\n\n
//
// Each special token counts one; contents are trimmed, as the template does.
// The preamble is Llama 3.1's; Llama 3's template has none, so for Llama 3
// the count is a slight over-estimate, never an under-estimate.
func (c *Counter) CountChat(msgs []ragd.Message) int {
	const header = 4 // <|start_header_id|>, <|end_header_id|>, "\n\n", <|eot_id|>
	n := 1           // <|begin_of_text|>
	system := ""
	rest := msgs
	if len(msgs) > 0 && msgs[0].Role == ragd.RoleSystem {
		system = strings.TrimSpace(msgs[0].Content)
		rest = msgs[1:]
	}
	n += header + c.Count(ragd.RoleSystem) + c.Count(llama31SystemPreamble+system)
	for _, m := range rest {
		n += header + c.Count(m.Role) + c.Count(strings.TrimSpace(m.Content))
	}
	n += header - 1 + c.Count(ragd.RoleAssistant) // the open assistant turn has no <|eot_id|>
	return n
}

// Known context windows, in tokens, of the models ragd names by default.
const (
	// WorkersAILlama31_8B is the window Workers AI serves
	// @cf/meta/llama-3.1-8b-instruct with (its model page).
	WorkersAILlama31_8B = 7968
	// WorkersAILlama31_8BFast is @cf/meta/llama-3.1-8b-instruct-fast's.
	WorkersAILlama31_8BFast = 128000
	// Llama31 is the window Llama 3.1 models are trained for, the upper
	// limit of any server's setting.
	Llama31 = 131072
	// Llama3 is Llama 3's (3.0) window.
	Llama3 = 8192
)

// ContextWindow returns the context window of a model by name when ragd
// knows it; servers that run models with their own settings (Ollama's
// num_ctx, vLLM's --max-model-len) need the window configured instead.
func ContextWindow(model string) (int, bool) {
	switch model {
	case "@cf/meta/llama-3.1-8b-instruct":
		return WorkersAILlama31_8B, true
	case "@cf/meta/llama-3.1-8b-instruct-fast":
		return WorkersAILlama31_8BFast, true
	}
	return 0, false
}

// Windows maps model names to context windows, with configured entries
// taking precedence over the known ones.
type Windows map[string]int

// Lookup returns the window for model: configured, else known, else
// fallback.
func (w Windows) Lookup(model string, fallback int) int {
	if n, ok := w[model]; ok && n > 0 {
		return n
	}
	if n, ok := ContextWindow(model); ok {
		return n
	}
	return fallback
}
