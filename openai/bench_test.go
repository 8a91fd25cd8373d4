package openai_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/openai"
	"github.com/ragd/ragd/openai/openaitest"
)

// BenchmarkTimeToFirstToken measures what the client adds to the time to
// the first token over reading the same local, instant server directly
// with net/http (see the workersai benchmark of the same name).
func BenchmarkTimeToFirstToken(b *testing.B) {
	s := openaitest.NewServer(b, openaitest.Options{})
	cfg := s.Config()
	c, err := openai.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	msgs := []ragd.Message{{Role: ragd.RoleSystem, Content: "Answer from the sources."}, {Role: ragd.RoleUser, Content: "What is the answer?"}}
	body := []byte(`{"model":"llama3.1:8b","messages":[{"role":"system","content":"Answer from the sources."},{"role":"user","content":"What is the answer?"}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":1024}`)
	raw := func() time.Duration {
		start := time.Now()
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, cfg.BaseURL+"/chat/completions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+openaitest.APIKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := cfg.HTTPClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		var ttft time.Duration
		for {
			line, err := br.ReadSlice('\n')
			if bytes.Contains(line, []byte(`"delta":{"content":"The`)) {
				ttft = time.Since(start)
				break
			}
			if err != nil {
				b.Fatal("no token in the raw stream")
			}
		}
		io.Copy(io.Discard, br)
		return ttft
	}
	client := func() time.Duration {
		start := time.Now()
		var ttft time.Duration
		_, err := c.ChatStream(context.Background(), ragd.ChatRequest{Messages: msgs}, func(string) error {
			if ttft == 0 {
				ttft = time.Since(start)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		return ttft
	}
	raw()
	client()
	var rs, cs []time.Duration
	b.ResetTimer()
	for b.Loop() {
		rs = append(rs, raw())
		cs = append(cs, client())
	}
	b.StopTimer()
	slices.Sort(rs)
	slices.Sort(cs)
	q := func(d []time.Duration, p float64) float64 {
		return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds())
	}
	b.ReportMetric(q(rs, 0.5), "raw-p50-µs")
	b.ReportMetric(q(rs, 0.99), "raw-p99-µs")
	b.ReportMetric(q(cs, 0.5), "client-p50-µs")
	b.ReportMetric(q(cs, 0.99), "client-p99-µs")
	b.ReportMetric(q(cs, 0.5)-q(rs, 0.5), "added-p50-µs")
	b.ReportMetric(q(cs, 0.99)-q(rs, 0.99), "added-p99-µs")
}
