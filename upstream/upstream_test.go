package upstream_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/upstream"
)

func TestBackoffFullJitterWithRetryAfterFloor(t *testing.T) {
	p := upstream.Policy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for retry, ceiling := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: time.Second, 40: time.Second} {
		if got := p.Backoff(retry, 0, func() float64 { return 0.999999 }); got > ceiling || got < ceiling*99/100 {
			t.Errorf("retry %d: top of the jitter = %v, want just under %v", retry, got, ceiling)
		}
		if got := p.Backoff(retry, 0, func() float64 { return 0 }); got != 0 {
			t.Errorf("retry %d: bottom of the jitter = %v, want 0 (full jitter)", retry, got)
		}
		if got := p.Backoff(retry, 2*time.Second, func() float64 { return 0.5 }); got != 2*time.Second {
			t.Errorf("retry %d: with Retry-After 2s got %v, want the floor 2s", retry, got)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              0,
		"2":                             2 * time.Second,
		"0.5":                           500 * time.Millisecond,
		"-1":                            0,
		"soon":                          0,
		"Mon, 23 Nov 2026 12:00:30 GMT": 30 * time.Second,
		"Mon, 23 Nov 2026 11:00:00 GMT": 0,
	}
	for v, want := range cases {
		h := http.Header{}
		if v != "" {
			h.Set("Retry-After", v)
		}
		if got := upstream.ParseRetryAfter(h, now); got != want {
			t.Errorf("Retry-After %q = %v, want %v", v, got, want)
		}
	}
}

func TestNextUTCMidnight(t *testing.T) {
	got := upstream.NextUTCMidnight(time.Date(2026, 12, 31, 23, 59, 0, 0, time.FixedZone("X", 3600)))
	if want := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestRetryBudgetLimitsStorm(t *testing.T) {
	// L-7: half of all attempts fail; retries stay within 10 % of requests
	// (plus the reserve), and upstream calls within 1.1x requests.
	rng := rand.New(rand.NewPCG(1, 2))
	var mu sync.Mutex
	r := upstream.NewRetrier(upstream.RetrierConfig{Policy: upstream.Policy{BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond}, Breaker: upstream.BreakerConfig{Threshold: 1 << 30}})
	const requests = 2000
	calls := 0
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range requests / 4 {
				rec := upstream.Record{}
				r.Do(context.Background(), upstream.Describe{Provider: "test", Model: "m"}, &rec, func(context.Context, *upstream.Record) error {
					mu.Lock()
					calls++
					fail := rng.IntN(2) == 0
					mu.Unlock()
					if fail {
						return &upstream.Failure{Kind: upstream.KindServer, Status: 500}
					}
					return nil
				})
			}
			_ = w
		}()
	}
	wg.Wait()
	st := r.Stats()
	if max := int64(requests/10 + 10); st.Retries > max {
		t.Errorf("%d retries for %d requests, want at most %d", st.Retries, requests, max)
	}
	if calls > requests*11/10+10 {
		t.Errorf("%d upstream calls for %d requests, want at most 1.1x", calls, requests)
	}
	if st.BudgetExhausted == 0 {
		t.Error("the budget never ran out under a 50 % failure rate")
	}
	if st.Requests != requests || st.Attempts != int64(calls) {
		t.Errorf("stats %+v, calls %d", st, calls)
	}
}

func TestBreakerStates(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := upstream.NewBreaker(upstream.BreakerConfig{Threshold: 3, Cooldown: 10 * time.Second, QuotaProbeInterval: time.Minute, Now: func() time.Time { return now }})
	for range 3 {
		tk, f := b.Allow()
		if f != nil {
			t.Fatal(f)
		}
		b.Done(tk, upstream.OutcomeFailure)
	}
	if b.State() != upstream.BreakerOpen {
		t.Fatalf("state %v after 3 failures", b.State())
	}
	if _, f := b.Allow(); f == nil || f.Kind != upstream.KindBreakerOpen || f.RetryAfter != 10*time.Second {
		t.Errorf("open breaker allowed a call: %v", f)
	}
	now = now.Add(11 * time.Second)
	probe, f := b.Allow()
	if f != nil {
		t.Fatalf("no probe after the cooldown: %v", f)
	}
	if _, f := b.Allow(); f == nil {
		t.Error("a second call went through while the probe is out")
	}
	b.Done(probe, upstream.OutcomeFailure)
	if b.State() != upstream.BreakerOpen {
		t.Errorf("state %v after a failed probe, want open", b.State())
	}
	now = now.Add(11 * time.Second)
	probe, _ = b.Allow()
	b.Done(probe, upstream.OutcomeSuccess)
	if b.State() != upstream.BreakerClosed {
		t.Errorf("state %v after a good probe, want closed", b.State())
	}

	b.TripQuota(now.Add(time.Hour))
	if _, f := b.Allow(); f == nil || f.Kind != upstream.KindQuota || f.RetryAfter != time.Hour {
		t.Errorf("quota: %v", f)
	}
	now = now.Add(61 * time.Second)
	qp, f := b.Allow()
	if f != nil {
		t.Fatalf("no quota probe after its interval: %v", f)
	}
	if _, f := b.Allow(); f == nil {
		t.Error("more than one quota probe per interval")
	}
	b.Done(qp, upstream.OutcomeSuccess)
	if _, f := b.Allow(); f != nil || b.State() != upstream.BreakerClosed {
		t.Errorf("a good quota probe did not lift the quota: %v, %v", f, b.State())
	}
}

func TestToErrorMessages(t *testing.T) {
	d := upstream.Describe{Provider: "Workers AI", Model: "@cf/meta/llama-3.1-8b-instruct"}
	f := &upstream.Failure{Kind: upstream.KindNotFound, Status: 400, Code: 5007, Detail: "AiError: No such model; account 0123"}
	err := d.ToError(f)
	if got, want := ragd.ErrorMessage(err), `Workers AI model "@cf/meta/llama-3.1-8b-instruct" was not found`; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if !strings.Contains(err.Error(), "5007") {
		t.Errorf("cause lost: %v", err)
	}
	var back *upstream.Failure
	if !errors.As(err, &back) || back != f {
		t.Error("the failure is not in the chain")
	}
}

func readAll(t *testing.T, r io.Reader, max int) ([]upstream.Event, error) {
	t.Helper()
	s := upstream.NewSSEReader(r, max)
	var out []upstream.Event
	for {
		ev, err := s.Next()
		if err != nil {
			return out, err
		}
		out = append(out, upstream.Event{Name: ev.Name, Data: bytes.Clone(ev.Data)})
	}
}

func TestSSEReader(t *testing.T) {
	stream := ": comment\r\n" +
		"data: {\"response\":\"a\"}\r\n\r\n" +
		"event: message\n" +
		"data:first\n" +
		"data: second\n" +
		"id: 7\n\n" +
		"\n\n" +
		"data\n\n" +
		"data: [DONE]\n\n"
	for _, r := range []io.Reader{strings.NewReader(stream), iotest.OneByteReader(strings.NewReader(stream)), iotest.HalfReader(strings.NewReader(stream))} {
		got, err := readAll(t, r, 0)
		if err != io.EOF {
			t.Fatalf("end: %v, want io.EOF", err)
		}
		want := []upstream.Event{{Data: []byte(`{"response":"a"}`)}, {Name: "message", Data: []byte("first\nsecond")}, {Data: []byte{}}, {Data: []byte("[DONE]")}}
		if len(got) != len(want) {
			t.Fatalf("events %q", got)
		}
		for i := range want {
			if got[i].Name != want[i].Name || !bytes.Equal(got[i].Data, want[i].Data) {
				t.Errorf("event %d = %+v %q, want %+v %q", i, got[i].Name, got[i].Data, want[i].Name, want[i].Data)
			}
		}
	}
}

func TestSSEReaderLongLinesAndTruncation(t *testing.T) {
	long := strings.Repeat("y", 100<<10)
	got, err := readAll(t, strings.NewReader("data: "+long+"\n\n"), 1<<20)
	if err != io.EOF || len(got) != 1 || string(got[0].Data) != long {
		t.Errorf("100 KB line: %d events, %v", len(got), err)
	}
	_, err = readAll(t, strings.NewReader("data: "+strings.Repeat("z", 2<<20)+"\n\n"), 1<<20)
	if !errors.Is(err, upstream.ErrLineTooLong) {
		t.Errorf("2 MB line over a 1 MB cap: %v", err)
	}
	_, err = readAll(t, strings.NewReader("data: a\ndata: "+strings.Repeat("z", 600<<10)+"\n"+"data: "+strings.Repeat("z", 600<<10)+"\n\n"), 1<<20)
	if !errors.Is(err, upstream.ErrLineTooLong) {
		t.Errorf("event over the cap in several lines: %v", err)
	}
	for _, s := range []string{"data: {\"response\":\"cut", "data: a\n", "data: a\n\ndata: b"} {
		_, err := readAll(t, strings.NewReader(s), 0)
		if err != io.ErrUnexpectedEOF {
			t.Errorf("%q: %v, want io.ErrUnexpectedEOF", s, err)
		}
	}
}

// FuzzSSEReader checks that the reader never panics, never returns an
// event over its cap, and reads the same events whatever the read sizes.
func FuzzSSEReader(f *testing.F) {
	f.Add([]byte("data: {\"response\":\"hi\"}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data:a\r\ndata:b\r\n\r\n"))
	f.Add([]byte(":\n\nevent: x\ndata\n\n"))
	f.Add([]byte("data: \xe6\x9d\xb1\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 64
		a, errA := readAll(t, bytes.NewReader(in), max)
		b, errB := readAll(t, iotest.OneByteReader(bytes.NewReader(in)), max)
		if (errA == nil) != (errB == nil) || errors.Is(errA, upstream.ErrLineTooLong) != errors.Is(errB, upstream.ErrLineTooLong) || len(a) != len(b) {
			t.Fatalf("whole reads: %d events, %v; byte reads: %d events, %v", len(a), errA, len(b), errB)
		}
		for i := range a {
			if !bytes.Equal(a[i].Data, b[i].Data) || a[i].Name != b[i].Name {
				t.Fatalf("event %d differs: %q vs %q", i, a[i].Data, b[i].Data)
			}
			if len(a[i].Data) > max {
				t.Fatalf("event of %d bytes over the cap %d", len(a[i].Data), max)
			}
		}
	})
}

func TestWatchdog(t *testing.T) {
	ctx, w := upstream.NewWatchdog(context.Background(), 50*time.Millisecond, 30*time.Millisecond)
	defer w.Stop()
	time.Sleep(20 * time.Millisecond)
	w.Progress()
	for range 5 {
		time.Sleep(10 * time.Millisecond)
		w.Progress()
	}
	if ctx.Err() != nil {
		t.Fatal("fired although progress came in time")
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
		t.Fatal("idle limit never fired")
	}
	f := w.Failure(ctx, ctx.Err(), true)
	if f == nil || f.Kind != upstream.KindTimeout || f.Retryable() {
		t.Errorf("failure %v", f)
	}
}
