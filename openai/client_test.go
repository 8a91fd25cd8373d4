package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/generate"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/llmtoken"
	"github.com/ragd/ragd/openai"
	"github.com/ragd/ragd/openai/openaitest"
	"github.com/ragd/ragd/retrieve"
	"github.com/ragd/ragd/upstream"
	"github.com/ragd/ragd/upstream/upstreamtest"
	"github.com/ragd/ragd/workersai/workersaitest"
)

var (
	_ generate.ChatStreamer = (*openai.Client)(nil)
	_ ingest.Embedder       = (*openai.Client)(nil)
	_ retrieve.Embedder     = (*openai.Client)(nil)
	_ retrieve.Reranker     = (*openai.Client)(nil)
)

type step = upstreamtest.Step

func newClient(t *testing.T, cfg openai.Config) *openai.Client {
	t.Helper()
	cfg.Retry = upstream.Policy{BaseDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}
	cfg.Counter = boundCounter(t)
	c, err := openai.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func chat(t *testing.T, c *openai.Client) (string, ragd.Usage, error) {
	t.Helper()
	var b strings.Builder
	u, err := c.ChatStream(context.Background(), ragd.ChatRequest{MaxTokens: 128, Messages: []ragd.Message{
		{Role: ragd.RoleSystem, Content: "Answer from the sources."}, {Role: ragd.RoleUser, Content: "What is the answer?"},
	}}, func(s string) error {
		b.WriteString(s)
		return nil
	})
	return b.String(), u, err
}

func wantCode(t *testing.T, err error, code string) *ragd.Error {
	t.Helper()
	var e *ragd.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v (code %q), want %q", err, ragd.ErrorCode(err), code)
	}
	for _, secret := range []string{openaitest.APIKey, workersaitest.Account, "server had an error"} {
		if strings.Contains(e.Message, secret) {
			t.Errorf("message %q leaks %q", e.Message, secret)
		}
	}
	return e
}

func TestChatStream(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := openaitest.NewServer(t, openaitest.Options{Answer: "Ollama says hello [1]."})
	c := newClient(t, s.Config())
	got, u, err := chat(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if got != "Ollama says hello [1]." {
		t.Errorf("answer = %q", got)
	}
	if u.Estimated || u.CompletionTokens != 4 || u.PromptTokens == 0 {
		t.Errorf("usage = %+v, want the server's", u)
	}
	var body map[string]any
	json.Unmarshal(s.Requests()[0].Body, &body)
	if body["model"] != "llama3.1:8b" || body["stream"] != true || body["max_tokens"] != float64(128) {
		t.Errorf("body = %s", s.Requests()[0].Body)
	}
	if so, _ := body["stream_options"].(map[string]any); so["include_usage"] != true {
		t.Errorf("stream_options = %v", body["stream_options"])
	}
	if s.Requests()[0].Path != "/v1/chat/completions" {
		t.Errorf("path = %q", s.Requests()[0].Path)
	}
	s.Close()
}

func TestChatStreamSplitAnywhere(t *testing.T) {
	answer := "Grüße aus 東京 🙂 [2]."
	for _, chunk := range []int{1, 3, 7} {
		s := openaitest.NewServer(t, openaitest.Options{Answer: answer, Chunk: chunk})
		got, _, err := chat(t, newClient(t, s.Config()))
		if err != nil || got != answer {
			t.Errorf("chunk %d: answer %q, error %v", chunk, got, err)
		}
	}
}

func TestUsageEstimatedWithoutUsageChunk(t *testing.T) {
	s := openaitest.NewServer(t, openaitest.Options{NoUsage: true})
	_, u, err := chat(t, newClient(t, s.Config()))
	if err != nil {
		t.Fatal(err)
	}
	if !u.Estimated || u.PromptTokens == 0 || u.CompletionTokens == 0 {
		t.Errorf("usage = %+v, want an estimate", u)
	}
}

func TestWorkersAICompatibleEndpoint(t *testing.T) {
	prefix := "/client/v4/accounts/" + workersaitest.Account + "/ai/v1"
	s := openaitest.NewServer(t, openaitest.Options{Prefix: prefix, Script: []step{
		{Status: 429, Code: 3040},
		{},
		{Status: 429, Code: 3036},
	}})
	cfg := s.Config()
	cfg.ChatModel = "@cf/meta/llama-3.1-8b-instruct"
	c := newClient(t, cfg)
	if got, _, err := chat(t, c); err != nil || got == "" {
		t.Fatalf("answer %q, error %v (3040 must be retried)", got, err)
	}
	if s.Requests()[1].Path != prefix+"/chat/completions" {
		t.Errorf("path = %q", s.Requests()[1].Path)
	}
	for range 3 {
		_, _, err := chat(t, c)
		if e := wantCode(t, err, ragd.ERateLimited); e.RetryAfter <= 0 {
			t.Errorf("RetryAfter = %v, want until the reset", e.RetryAfter)
		}
	}
	if n := s.Count(); n != 3 {
		t.Errorf("%d calls, want 3 (3036 holds requests off)", n)
	}
}

func TestRejections(t *testing.T) {
	cases := []struct {
		name   string
		step   step
		code   string
		phrase string
	}{
		{"model not found", step{Status: 404}, ragd.EInvalid, `model "llama3.1:8b" was not found`},
		{"context too long", step{Status: 400}, ragd.EInvalid, "rejected the input"},
		{"bad key", step{Status: 401}, ragd.EUpstream, "credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openaitest.NewServer(t, openaitest.Options{Script: []step{tc.step}})
			_, _, err := chat(t, newClient(t, s.Config()))
			e := wantCode(t, err, tc.code)
			if !strings.Contains(e.Message, tc.phrase) {
				t.Errorf("message %q does not say %q", e.Message, tc.phrase)
			}
			if s.Count() != 1 {
				t.Errorf("%d calls, want 1", s.Count())
			}
		})
	}
}

func TestServerErrorsRetriedThenReported(t *testing.T) {
	s := openaitest.NewServer(t, openaitest.Options{Script: []step{{Status: 500}, {Status: 502}, {Status: 503}}})
	_, _, err := chat(t, newClient(t, s.Config()))
	if code := ragd.ErrorCode(err); code != ragd.EUpstream && code != ragd.EUnavailable {
		t.Fatalf("error %v", err)
	}
	wantCode(t, err, ragd.ErrorCode(err))
	if s.Count() != 3 {
		t.Errorf("%d calls, want 3", s.Count())
	}
}

func TestRateLimitRetryAfter(t *testing.T) {
	s := openaitest.NewServer(t, openaitest.Options{Script: []step{{Status: 429, RetryAfter: "1"}}})
	start := time.Now()
	if _, _, err := chat(t, newClient(t, s.Config())); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < time.Second {
		t.Errorf("retried after %v, before Retry-After", time.Since(start))
	}
}

func TestBrokenStreams(t *testing.T) {
	cases := map[string]struct {
		step    step
		answer  string
		calls   int
		wantErr bool
	}{
		"error object after a delta": {step{ErrorAfter: 1}, "The", 1, true},
		"error object first":         {step{ErrorAfter: -1}, "The answer is 42 [1].", 2, false},
		"dropped connection":         {step{DropAfter: 2}, "The answer", 1, true},
		"no [DONE]":                  {step{NoDone: true}, "The answer is 42 [1].", 1, true},
		"100 KB line":                {step{HugeToken: 100 << 10}, strings.Repeat("x", 100<<10) + "The answer is 42 [1].", 1, false},
		"20 MB line":                 {step{HugeToken: 20 << 20}, "", 1, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := openaitest.NewServer(t, openaitest.Options{Script: []step{tc.step}})
			got, _, err := chat(t, newClient(t, s.Config()))
			if tc.wantErr {
				wantCode(t, err, ragd.EUpstream)
			} else if err != nil {
				t.Fatal(err)
			}
			if got != tc.answer {
				t.Errorf("delivered %q, want %q", got[:min(len(got), 80)], tc.answer[:min(len(tc.answer), 80)])
			}
			if s.Count() != tc.calls {
				t.Errorf("%d calls, want %d", s.Count(), tc.calls)
			}
		})
	}
}

func TestStallAndDisconnect(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := openaitest.NewServer(t, openaitest.Options{Answer: "a b c d e f g h", Script: []step{{StallAfter: 5}}})
	cfg := s.Config()
	cfg.IdleTimeout = 300 * time.Millisecond
	c := newClient(t, cfg)
	start := time.Now()
	_, _, err := chat(t, c)
	wantCode(t, err, ragd.EUpstream)
	if time.Since(start) > 1300*time.Millisecond {
		t.Errorf("stall noticed after %v", time.Since(start))
	}
	select {
	case <-s.CanceledC():
	case <-time.After(time.Second):
		t.Error("the fake did not see the stalled request cancelled within 1 s")
	}
	s.Close()

	slow := openaitest.NewServer(t, openaitest.Options{Answer: "a b c d e f g h", TokenDelay: 50 * time.Millisecond})
	c = newClient(t, slow.Config())
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err = c.ChatStream(ctx, ragd.ChatRequest{Messages: []ragd.Message{{Role: "user", Content: "hi"}}}, func(string) error {
		if n++; n == 2 {
			cancel()
		}
		return nil
	})
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	select {
	case <-slow.CanceledC():
	case <-time.After(time.Second):
		t.Error("the fake did not see the disconnect within 1 s")
	}
	slow.Close()
}

func TestEmbeddings(t *testing.T) {
	s := openaitest.NewServer(t, openaitest.Options{})
	cfg := s.Config()
	cfg.BatchSize = 10
	c := newClient(t, cfg)
	texts := make([]string, 25)
	for i := range texts {
		texts[i] = "document number " + string(rune('A'+i))
	}
	vecs, err := c.EmbedDocuments(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vecs {
		want := workersaitest.Vector(texts[i], openaitest.Dim)
		if d := v[0] - want[0]; d > 1e-5 || d < -1e-5 || len(v) != openaitest.Dim {
			t.Fatalf("vector %d is not the one for its text (out-of-order answer mishandled)", i)
		}
	}
	if s.Count() != 3 {
		t.Errorf("%d calls, want 3", s.Count())
	}
	if _, err := c.EmbedQuery(context.Background(), "what?"); err != nil {
		t.Fatal(err)
	}
	var body struct{ Input []string }
	json.Unmarshal(s.Requests()[3].Body, &body)
	if len(body.Input) != 1 || body.Input[0] != openai.BGEQueryInstruction+"what?" {
		t.Errorf("query sent as %q", body.Input)
	}
}

func TestRerank(t *testing.T) {
	s := openaitest.NewServer(t, openaitest.Options{})
	c := newClient(t, s.Config())
	docs := []string{"nothing here", "capital of France", "France"}
	scores, err := c.Rerank(context.Background(), "capital of France", docs)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range docs {
		if want := workersaitest.Score("capital of France", d); scores[i] != want {
			t.Errorf("score %d = %v, want %v", i, scores[i], want)
		}
	}
	cfg := s.Config()
	cfg.RerankURL = ""
	if _, err := newClient(t, cfg).Rerank(context.Background(), "q", docs); ragd.ErrorCode(err) != ragd.EInvalid {
		t.Errorf("rerank without a URL: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []openai.Config{{}, {BaseURL: "localhost:11434"}, {BaseURL: "ftp://x/v1"}, {BaseURL: "http://x/v1", RerankURL: "nope"}} {
		if _, err := openai.New(cfg); ragd.ErrorCode(err) != ragd.EInvalid {
			t.Errorf("New(%+v) = %v, want invalid", cfg, err)
		}
	}
}

// boundOnce shares one token counter between the tests' clients: building
// it takes a while under the race detector.
var boundOnce = sync.OnceValues(llmtoken.NewBound)

func boundCounter(t *testing.T) *llmtoken.Counter {
	t.Helper()
	c, err := boundOnce()
	if err != nil {
		t.Fatal(err)
	}
	return c
}
