package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd/openai/openaitest"
)

// BenchmarkTimeToFirstDelta measures ragd's time from a query request to
// the first delta event, with an OpenAI-compatible upstream on loopback
// that answers at once: retrieval, prompt building, the upstream round trip
// and the stream writer. It reports the median and p99 in ms.
func BenchmarkTimeToFirstDelta(b *testing.B) {
	fake := openaitest.NewServer(b, openaitest.Options{Answer: "Instant answer [1]."})
	cfg := withOpenAI(testConfig(b), fake)
	cfg.Embedder = "hash:384"
	srv := startApp(b, cfg)
	if code, _ := uploadFiles(b, srv.URL+"/v1/collections/bench/documents", cfdocsPages(b)[:60]); code != 201 {
		b.Fatalf("upload: %d", code)
	}
	body, _ := json.Marshal(map[string]any{"query": "How do I create a Vectorize index?"})
	client := &http.Client{}
	var samples []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		req, _ := http.NewRequest("POST", srv.URL+"/v1/collections/bench/query", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		r := bufio.NewReader(resp.Body)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				b.Fatal("stream ended before a delta")
			}
			if strings.HasPrefix(line, "event: delta") {
				samples = append(samples, time.Since(start))
				break
			}
		}
		resp.Body.Close()
	}
	b.StopTimer()
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(samples[len(samples)/2]), "p50-ms")
	b.ReportMetric(ms(samples[len(samples)*99/100]), "p99-ms")
}
