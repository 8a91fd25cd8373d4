package workersai_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/generate"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/llmtoken"
	"github.com/ragd/ragd/retrieve"
	"github.com/ragd/ragd/upstream"
	"github.com/ragd/ragd/upstream/upstreamtest"
	"github.com/ragd/ragd/workersai"
	"github.com/ragd/ragd/workersai/workersaitest"
)

var (
	_ generate.ChatStreamer = (*workersai.Client)(nil)
	_ ingest.Embedder       = (*workersai.Client)(nil)
	_ retrieve.Embedder     = (*workersai.Client)(nil)
	_ retrieve.Reranker     = (*workersai.Client)(nil)
)

type step = upstreamtest.Step

// fastRetry keeps backoff short so that tests run quickly.
var fastRetry = upstream.Policy{BaseDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}

// noLeaks checks, after the test's servers have closed, that no goroutine
// it started is left.
func noLeaks(t *testing.T) {
	t.Helper()
	opts := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opts) })
}

type recorder struct {
	mu   sync.Mutex
	recs []upstream.Record
}

func (r *recorder) observe(rec upstream.Record) {
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
}

func (r *recorder) last(t *testing.T) upstream.Record {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.recs) == 0 {
		t.Fatal("no request record observed")
	}
	return r.recs[len(r.recs)-1]
}

func newClient(t *testing.T, cfg workersai.Config) (*workersai.Client, *recorder) {
	t.Helper()
	rec := &recorder{}
	if cfg.Retry == (upstream.Policy{}) {
		cfg.Retry = fastRetry
	}
	cfg.Observe = rec.observe
	cfg.Counter = boundCounter(t)
	c, err := workersai.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

func chat(t *testing.T, c *workersai.Client, req ragd.ChatRequest) (string, ragd.Usage, error) {
	t.Helper()
	var b strings.Builder
	if len(req.Messages) == 0 {
		req.Messages = []ragd.Message{{Role: ragd.RoleSystem, Content: "Answer from the sources."}, {Role: ragd.RoleUser, Content: "What is the answer?"}}
	}
	u, err := c.ChatStream(context.Background(), req, func(s string) error {
		b.WriteString(s)
		return nil
	})
	return b.String(), u, err
}

func wantCode(t *testing.T, err error, code string) *ragd.Error {
	t.Helper()
	var e *ragd.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v (code %q), want code %q", err, ragd.ErrorCode(err), code)
	}
	for _, secret := range []string{workersaitest.Account, workersaitest.Token, "AiError"} {
		if strings.Contains(e.Message, secret) {
			t.Errorf("message %q leaks %q", e.Message, secret)
		}
	}
	return e
}

func TestChatStream(t *testing.T) {
	noLeaks(t)
	s := workersaitest.NewServer(t, workersaitest.Options{Answer: "Paris is the capital of France [1]."})
	c, rec := newClient(t, s.Config())
	temp := 0.2
	got, u, err := chat(t, c, ragd.ChatRequest{Temperature: &temp, TopK: 5})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Paris is the capital of France [1]."; got != want {
		t.Errorf("answer = %q, want %q", got, want)
	}
	if u.Estimated || u.PromptTokens == 0 || u.CompletionTokens != 7 || u.TotalTokens != u.PromptTokens+7 {
		t.Errorf("usage = %+v, want the upstream's (7 completion tokens)", u)
	}
	reqs := s.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	if want := "/client/v4/accounts/" + workersaitest.Account + "/ai/run/@cf/meta/llama-3.1-8b-instruct"; reqs[0].Path != want {
		t.Errorf("path = %q, want %q", reqs[0].Path, want)
	}
	var body map[string]any
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["stream"] != true || body["max_tokens"] != float64(workersai.DefaultMaxTokens) || body["temperature"] != 0.2 || body["top_k"] != float64(5) {
		t.Errorf("request body = %s", reqs[0].Body)
	}
	if _, ok := body["top_p"]; ok {
		t.Errorf("top_p sent though unset: %s", reqs[0].Body)
	}
	r := rec.last(t)
	if r.Attempts != 1 || r.Outcome != "ok" || r.CompletionTokens != 7 || r.FirstToken <= 0 || r.Model != workersai.DefaultChatModel {
		t.Errorf("record = %+v", r)
	}
}

func TestChatStreamSplitAnywhere(t *testing.T) {
	answer := "Grüße aus 東京 🙂 — «ok» [2]."
	for _, chunk := range []int{1, 2, 3, 5, 7} {
		s := workersaitest.NewServer(t, workersaitest.Options{Answer: answer, Chunk: chunk})
		c, _ := newClient(t, s.Config())
		got, _, err := chat(t, c, ragd.ChatRequest{MaxTokens: 64})
		if err != nil {
			t.Fatalf("chunk %d: %v", chunk, err)
		}
		if got != answer {
			t.Errorf("chunk %d: answer = %q, want %q", chunk, got, answer)
		}
	}
}

func TestChatUsageEstimatedWhenUnreported(t *testing.T) {
	s := workersaitest.NewServer(t, workersaitest.Options{NoUsage: true})
	c, _ := newClient(t, s.Config())
	_, u, err := chat(t, c, ragd.ChatRequest{MaxTokens: 64})
	if err != nil {
		t.Fatal(err)
	}
	if !u.Estimated || u.PromptTokens < 10 || u.CompletionTokens < 5 {
		t.Errorf("usage = %+v, want an estimate", u)
	}
}

func TestRetryAfterIsAFloor(t *testing.T) {
	// L-4: 429 with Retry-After twice, then an answer.
	s := workersaitest.NewServer(t, workersaitest.Options{Script: []step{
		{Status: 429, RetryAfter: "1"},
		{Status: 429, RetryAfter: "1"},
	}})
	c, rec := newClient(t, s.Config())
	start := time.Now()
	if _, _, err := chat(t, c, ragd.ChatRequest{}); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 2*time.Second {
		t.Errorf("succeeded after %v, before the two Retry-After waits of 1 s", elapsed)
	}
	if n := s.Count(); n != 3 {
		t.Errorf("%d upstream calls, want 3", n)
	}
	if r := rec.last(t); r.Attempts != 3 || r.Retries != 2 {
		t.Errorf("record attempts %d retries %d, want 3 and 2", r.Attempts, r.Retries)
	}
}

func TestRateLimitedWithoutRetryAfter(t *testing.T) {
	s := workersaitest.NewServer(t, workersaitest.Options{Script: []step{{Status: 429}, {Status: 429}, {Status: 429}}})
	c, _ := newClient(t, s.Config())
	_, _, err := chat(t, c, ragd.ChatRequest{})
	wantCode(t, err, ragd.ERateLimited)
	if n := s.Count(); n != 3 {
		t.Errorf("%d upstream calls, want the attempt limit of 3", n)
	}
}

func TestLongRetryAfterIsNotWaited(t *testing.T) {
	s := workersaitest.NewServer(t, workersaitest.Options{Script: []step{{Status: 429, RetryAfter: "120"}}})
	c, _ := newClient(t, s.Config())
	start := time.Now()
	_, _, err := chat(t, c, ragd.ChatRequest{})
	e := wantCode(t, err, ragd.ERateLimited)
	if e.RetryAfter != 120*time.Second {
		t.Errorf("RetryAfter = %v, want 2m0s", e.RetryAfter)
	}
	if time.Since(start) > time.Second || s.Count() != 1 {
		t.Errorf("waited %v with %d calls; a Retry-After over the limit must end the request at once", time.Since(start), s.Count())
	}
}

func TestDailyAllocationOpensBreakerUntilReset(t *testing.T) {
	// L-5: 3036 is not retried; later requests do not reach the upstream.
	s := workersaitest.NewServer(t, workersaitest.Options{Script: []step{{Status: 429, Code: workersai.CodeDailyAllocation}}})
	c, rec := newClient(t, s.Config())
	for i := range 5 {
		_, _, err := chat(t, c, ragd.ChatRequest{})
		e := wantCode(t, err, ragd.ERateLimited)
		if e.RetryAfter <= 0 || e.RetryAfter > 24*time.Hour {
			t.Errorf("request %d: RetryAfter = %v, want the time to the next UTC midnight", i, e.RetryAfter)
		}
		if !strings.Contains(e.Message, "daily allocation") || !strings.Contains(e.Message, workersai.DefaultChatModel) {
			t.Errorf("message = %q", e.Message)
		}
	}
	if _, err := c.EmbedQuery(context.Background(), "q"); ragd.ErrorCode(err) != ragd.ERateLimited {
		t.Errorf("embedding during the quota: %v, want rate_limited", err)
	}
	if n := s.Count(); n != 1 {
		t.Errorf("%d upstream calls, want exactly 1 until the reset", n)
	}
	if st := c.Stats().Breaker; st != upstream.BreakerQuota {
		t.Errorf("breaker state = %v, want quota", st)
	}
	if r := rec.last(t); r.Attempts != 0 || r.Outcome != "quota_exhausted" {
		t.Errorf("record of a refused request = %+v", r)
	}
}

func TestOutOfCapacityIsRetried(t *testing.T) {
	// L-6: 3040 twice, then an answer.
	s := workersaitest.NewServer(t, workersaitest.Options{Script: []step{
		{Status: 429, Code: workersai.CodeOutOfCapacity},
		{Status: 429, Code: workersai.CodeOutOfCapacity},
	}})
	c, _ := newClient(t, s.Config())
	if got, _, err := chat(t, c, ragd.ChatRequest{}); err != nil || got == "" {
		t.Fatalf("answer %q, error %v", got, err)
	}
	if n := s.Count(); n != 3 {
		t.Errorf("%d upstream calls, want 3", n)
	}
}

func TestServerErrorsTripBreaker(t *testing.T) {
	// L-6: ten 500s open the breaker; after the cooldown one probe goes
	// through and closes it again.
	var script []step
	for range 10 {
		script = append(script, step{Status: 500})
	}
	s := workersaitest.NewServer(t, workersaitest.Options{Script: script})
	cfg := s.Config()
	cfg.Breaker = upstream.BreakerConfig{Threshold: 5, Cooldown: 300 * time.Millisecond}
	c, _ := newClient(t, cfg)
	for range 4 {
		_, _, err := chat(t, c, ragd.ChatRequest{})
		if code := ragd.ErrorCode(err); code != ragd.EUpstream && code != ragd.EUnavailable {
			t.Fatalf("error %v, want upstream or unavailable", err)
		}
	}
	if n := s.Count(); n != 5 {
		t.Errorf("%d upstream calls, want 5 (the breaker opens at the threshold)", n)
	}
	if st := c.Stats().Breaker; st != upstream.BreakerOpen {
		t.Errorf("breaker = %v, want open", st)
	}
	s.SetScript(nil)
	time.Sleep(350 * time.Millisecond)
	if _, _, err := chat(t, c, ragd.ChatRequest{}); err != nil {
		t.Fatalf("probe after cooldown: %v", err)
	}
	if st := c.Stats().Breaker; st != upstream.BreakerClosed {
		t.Errorf("breaker = %v after a good probe, want closed", st)
	}
}

func TestRejectionsAreNotRetried(t *testing.T) {
	cases := []struct {
		name   string
		step   step
		code   string
		phrase string
	}{
		{"model not found", step{Status: 400, Code: workersai.CodeNoSuchModel}, ragd.EInvalid, `Workers AI model "@cf/meta/llama-3.1-8b-instruct" was not found`},
		{"invalid model id", step{Status: 404, Code: workersai.CodeInvalidModelID}, ragd.EInvalid, "was not found"},
		{"bad input", step{Status: 400, Code: workersai.CodeInvalidData}, ragd.EInvalid, "rejected the input"},
		{"too large", step{Status: 413, Code: workersai.CodeTooLarge}, ragd.EInvalid, "too large"},
		{"account blocked", step{Status: 403, Code: workersai.CodeAccountBlocked}, ragd.EUpstream, "may not be used"},
		{"bad token", step{Status: 401, Code: workersai.CodeAuthentication}, ragd.EUpstream, "credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := workersaitest.NewServer(t, workersaitest.Options{Script: []step{tc.step}})
			c, _ := newClient(t, s.Config())
			_, _, err := chat(t, c, ragd.ChatRequest{})
			e := wantCode(t, err, tc.code)
			if !strings.Contains(e.Message, tc.phrase) {
				t.Errorf("message %q does not say %q", e.Message, tc.phrase)
			}
			if n := s.Count(); n != 1 {
				t.Errorf("%d upstream calls, want 1", n)
			}
		})
	}
}

func TestLongLines(t *testing.T) {
	// L-9: a 100 KB data line is fine; a 20 MB one is over the cap.
	s := workersaitest.NewServer(t, workersaitest.Options{Script: []step{{HugeToken: 100 << 10}, {HugeToken: 20 << 20}}})
	c, _ := newClient(t, s.Config())
	got, _, err := chat(t, c, ragd.ChatRequest{})
	if err != nil {
		t.Fatalf("100 KB line: %v", err)
	}
	if len(got) < 100<<10 {
		t.Errorf("answer of %d bytes, want the 100 KB token", len(got))
	}
	_, _, err = chat(t, c, ragd.ChatRequest{})
	wantCode(t, err, ragd.EUpstream)
	if !errors.Is(err, upstream.ErrLineTooLong) {
		t.Errorf("error %v does not wrap ErrLineTooLong", err)
	}
	if n := s.Count(); n != 2 {
		t.Errorf("%d upstream calls, want 2 (an over-long line is not retried)", n)
	}
}

func TestErrorObjectMidStream(t *testing.T) {
	s := workersaitest.NewServer(t, workersaitest.Options{Script: []step{{ErrorAfter: 2}}})
	c, _ := newClient(t, s.Config())
	got, _, err := chat(t, c, ragd.ChatRequest{})
	wantCode(t, err, ragd.EUpstream)
	if got != "The answer" {
		t.Errorf("delivered %q before the error, want the first two tokens", got)
	}
	if n := s.Count(); n != 1 {
		t.Errorf("%d upstream calls, want 1: no retry after a delivered delta", n)
	}
}

func TestErrorObjectBeforeFirstDeltaIsRetried(t *testing.T) {
	s := workersaitest.NewServer(t, workersaitest.Options{Script: []step{{ErrorAfter: -1}}})
	c, _ := newClient(t, s.Config())
	got, _, err := chat(t, c, ragd.ChatRequest{})
	if err != nil || got != "The answer is 42 [1]." {
		t.Fatalf("answer %q, error %v", got, err)
	}
	if n := s.Count(); n != 2 {
		t.Errorf("%d upstream calls, want 2", n)
	}
}

func TestTruncatedStreams(t *testing.T) {
	for name, st := range map[string]step{
		"dropped connection": {DropAfter: 3},
		"no end marker":      {NoDone: true},
	} {
		t.Run(name, func(t *testing.T) {
			s := workersaitest.NewServer(t, workersaitest.Options{Script: []step{st}})
			c, _ := newClient(t, s.Config())
			_, _, err := chat(t, c, ragd.ChatRequest{})
			e := wantCode(t, err, ragd.EUpstream)
			if !strings.Contains(e.Message, "ended before it was complete") {
				t.Errorf("message = %q", e.Message)
			}
			if n := s.Count(); n != 1 {
				t.Errorf("%d upstream calls, want 1", n)
			}
		})
	}
}

func TestStallAfterFiveTokens(t *testing.T) {
	// L-8: the stream stalls; the idle limit ends it and closes the
	// upstream connection.
	noLeaks(t)
	s := workersaitest.NewServer(t, workersaitest.Options{Answer: "one two three four five six seven", Script: []step{{StallAfter: 5}}})
	cfg := s.Config()
	cfg.IdleTimeout = 300 * time.Millisecond
	c, _ := newClient(t, cfg)
	start := time.Now()
	got, _, err := chat(t, c, ragd.ChatRequest{})
	elapsed := time.Since(start)
	e := wantCode(t, err, ragd.EUpstream)
	if !strings.Contains(e.Message, "did not answer in time") {
		t.Errorf("message = %q", e.Message)
	}
	if got != "one two three four five" {
		t.Errorf("delivered %q", got)
	}
	if elapsed > 300*time.Millisecond+time.Second {
		t.Errorf("took %v, want the idle limit + at most 1 s", elapsed)
	}
	select {
	case <-s.CanceledC():
	case <-time.After(time.Second):
		t.Error("the fake did not see the request cancelled within 1 s")
	}
}

func TestFirstTokenTimeout(t *testing.T) {
	s := workersaitest.NewServer(t, workersaitest.Options{Script: []step{{DelayFirst: 20 * time.Second}}})
	cfg := s.Config()
	cfg.FirstTokenTimeout = 200 * time.Millisecond
	c, _ := newClient(t, cfg)
	start := time.Now()
	_, _, err := chat(t, c, ragd.ChatRequest{})
	wantCode(t, err, ragd.EUpstream)
	if elapsed := time.Since(start); elapsed > 1200*time.Millisecond {
		t.Errorf("took %v, want the first-token limit + at most 1 s", elapsed)
	}
	select {
	case <-s.CanceledC():
	case <-time.After(time.Second):
		t.Error("the fake did not see the request cancelled within 1 s")
	}
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	// L-11: the caller goes away after two tokens.
	noLeaks(t)
	s := workersaitest.NewServer(t, workersaitest.Options{Answer: "a b c d e f g h i j", TokenDelay: 50 * time.Millisecond})
	c, _ := newClient(t, s.Config())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	var canceledAt time.Time
	_, err := c.ChatStream(ctx, ragd.ChatRequest{Messages: []ragd.Message{{Role: ragd.RoleUser, Content: "hi"}}}, func(string) error {
		n++
		if n == 2 {
			cancel()
			canceledAt = time.Now()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want one wrapping context.Canceled", err)
	}
	select {
	case <-s.CanceledC():
		if d := s.Requests()[0].Canceled.Sub(canceledAt); d > time.Second {
			t.Errorf("the fake saw the cancellation after %v", d)
		}
	case <-time.After(time.Second):
		t.Error("the fake did not see the request cancelled within 1 s")
	}
}

func TestOnDeltaErrorStopsStream(t *testing.T) {
	s := workersaitest.NewServer(t, workersaitest.Options{})
	c, _ := newClient(t, s.Config())
	stop := errors.New("client gone")
	_, err := c.ChatStream(context.Background(), ragd.ChatRequest{Messages: []ragd.Message{{Role: ragd.RoleUser, Content: "hi"}}}, func(string) error { return stop })
	if err != stop {
		t.Errorf("error = %v, want onDelta's own error", err)
	}
	if n := s.Count(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestGatewayRouting(t *testing.T) {
	s := workersaitest.NewServer(t, workersaitest.Options{})
	c, rec := newClient(t, s.GatewayConfig())
	ctx := workersai.WithCache(context.Background(), workersai.CacheOptions{TTL: 90 * time.Second})
	if _, err := c.ChatStream(ctx, ragd.ChatRequest{Messages: []ragd.Message{{Role: ragd.RoleUser, Content: "hi"}}}, func(string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if r := rec.last(t); r.GatewayLogID != workersaitest.LogID || r.CacheStatus != "MISS" {
		t.Errorf("record gateway log id %q cache %q", r.GatewayLogID, r.CacheStatus)
	}
	ctx = workersai.WithCache(context.Background(), workersai.CacheOptions{Skip: true})
	if _, err := c.EmbedQuery(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests()
	if want := "/v1/" + workersaitest.Account + "/" + workersaitest.Gateway + "/workers-ai/@cf/meta/llama-3.1-8b-instruct"; reqs[0].Path != want {
		t.Errorf("path = %q, want %q", reqs[0].Path, want)
	}
	if got := reqs[0].Header.Get("cf-aig-cache-ttl"); got != "90" {
		t.Errorf("cf-aig-cache-ttl = %q, want 90", got)
	}
	if got := reqs[1].Header.Get("cf-aig-skip-cache"); got != "true" {
		t.Errorf("cf-aig-skip-cache = %q, want true", got)
	}
}

func TestEmbedDocumentsBatches(t *testing.T) {
	s := workersaitest.NewServer(t, workersaitest.Options{})
	c, _ := newClient(t, s.Config())
	texts := make([]string, 250)
	for i := range texts {
		texts[i] = "chunk " + strings.Repeat("x", i%7) + string(rune('a'+i%26))
	}
	vecs, err := c.EmbedDocuments(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != len(texts) {
		t.Fatalf("%d vectors, want %d", len(vecs), len(texts))
	}
	for i, v := range vecs {
		want := workersaitest.Vector(texts[i], 768)
		for j := range v {
			if d := v[j] - want[j]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("vector %d differs from the fake's at %d: %v vs %v", i, j, v[j], want[j])
			}
		}
	}
	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d calls, want 3 batches", len(reqs))
	}
	var body struct {
		Text    []string
		Pooling string
	}
	json.Unmarshal(reqs[2].Body, &body)
	if len(body.Text) != 50 || body.Pooling != "cls" {
		t.Errorf("last batch: %d texts, pooling %q; want 50 and cls", len(body.Text), body.Pooling)
	}
	if c.Dimension() != 768 {
		t.Errorf("Dimension = %d", c.Dimension())
	}
}

func TestEmbedQueryAddsInstruction(t *testing.T) {
	s := workersaitest.NewServer(t, workersaitest.Options{})
	c, _ := newClient(t, s.Config())
	v, err := c.EmbedQuery(context.Background(), "what is ragd?")
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Text []string }
	json.Unmarshal(s.Requests()[0].Body, &body)
	if len(body.Text) != 1 || body.Text[0] != workersai.BGEQueryInstruction+"what is ragd?" {
		t.Errorf("query sent as %q", body.Text)
	}
	if len(v) != 768 {
		t.Errorf("vector of %d", len(v))
	}
}

func TestRerank(t *testing.T) {
	s := workersaitest.NewServer(t, workersaitest.Options{})
	c, _ := newClient(t, s.Config())
	docs := []string{"cats and dogs", "the capital of France is Paris", "France"}
	scores, err := c.Rerank(context.Background(), "capital of France", docs)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range docs {
		if want := workersaitest.Score("capital of France", d); scores[i] != want {
			t.Errorf("score %d = %v, want %v", i, scores[i], want)
		}
	}
	if !strings.HasSuffix(s.Requests()[0].Path, "/@cf/baai/bge-reranker-base") {
		t.Errorf("path %q", s.Requests()[0].Path)
	}
}

func TestErrorMessagesLeakNothing(t *testing.T) {
	// S-LEAK-1: an upstream 403 3023 and a 500 whose body names the account.
	s := workersaitest.NewServer(t, workersaitest.Options{Script: []step{{Status: 403, Code: workersai.CodeAccountBlocked}, {Status: 500}, {Status: 500}, {Status: 500}}})
	c, _ := newClient(t, s.Config())
	for range 2 {
		_, _, err := chat(t, c, ragd.ChatRequest{})
		msg := ragd.ErrorMessage(err)
		for _, secret := range []string{workersaitest.Account, workersaitest.Token, "AiError", "Service unavailable", "Internal server error"} {
			if strings.Contains(msg, secret) {
				t.Errorf("user message %q contains %q", msg, secret)
			}
		}
		if !strings.Contains(err.Error(), "HTTP") {
			t.Errorf("the cause %q should keep the upstream details for the log", err)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []workersai.Config{
		{APIToken: "t"},
		{AccountID: "a"},
		{AccountID: "a/../b", APIToken: "t"},
		{AccountID: "a", APIToken: "t", Pooling: "max"},
		{AccountID: "a", APIToken: "t", ChatModel: "../../x y"},
	} {
		if _, err := workersai.New(cfg); ragd.ErrorCode(err) != ragd.EInvalid {
			t.Errorf("New(%+v) = %v, want invalid", cfg, err)
		}
	}
	c, _ := workersai.New(workersai.Config{AccountID: "a", APIToken: "t"})
	_, err := c.ChatStream(context.Background(), ragd.ChatRequest{Model: "bad model/../x", Messages: []ragd.Message{{Role: "user", Content: "x"}}}, func(string) error { return nil })
	if ragd.ErrorCode(err) != ragd.EInvalid {
		t.Errorf("bad model name: %v", err)
	}
}

func TestChatStreamOpenAIShapedChunks(t *testing.T) {
	s := workersaitest.NewServer(t, workersaitest.Options{OpenAIChunks: true, NoUsage: true, Answer: "one two three"})
	c, _ := newClient(t, s.Config())
	got, u, err := chat(t, c, ragd.ChatRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got != "one two three" {
		t.Errorf("answer = %q", got)
	}
	if u.Estimated || u.CompletionTokens != 3 {
		t.Errorf("usage = %+v, want the last cumulative usage (3 completion tokens)", u)
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

func TestRequestLogRecord(t *testing.T) {
	s := workersaitest.NewServer(t, workersaitest.Options{Script: []step{{Status: 429, Code: workersai.CodeOutOfCapacity}}})
	var buf bytes.Buffer
	cfg := s.GatewayConfig()
	cfg.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	c, _ := newClient(t, cfg)
	if _, _, err := chat(t, c, ragd.ChatRequest{}); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	want := map[string]any{
		"msg": "upstream request", "component": "workersai", upstream.LogKeyProvider: "workersai", upstream.LogKeyOperation: "chat",
		upstream.LogKeyModel: workersai.DefaultChatModel, upstream.LogKeyAttempts: 2.0, upstream.LogKeyRetries: 1.0,
		upstream.LogKeyCompletionTokens: 5.0, upstream.LogKeyEstimated: false, upstream.LogKeyGatewayLogID: workersaitest.LogID,
		upstream.LogKeyOutcome: "ok",
	}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("log %s = %v, want %v", k, rec[k], v)
		}
	}
	for _, k := range []string{upstream.LogKeyLatency, upstream.LogKeyFirstToken, upstream.LogKeyPromptTokens} {
		if _, ok := rec[k]; !ok {
			t.Errorf("log has no %s: %s", k, buf.String())
		}
	}
	if strings.Contains(buf.String(), workersaitest.Token) {
		t.Error("the log contains the API token")
	}
}
