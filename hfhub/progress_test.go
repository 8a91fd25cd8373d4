package hfhub

import (
	"strings"
	"testing"
	"time"
)

// fakeClock advances by step on every reading.
func fakeClock(step time.Duration) func() time.Time {
	t := time.Unix(1_700_000_000, 0)
	return func() time.Time {
		t = t.Add(step)
		return t
	}
}

func TestRendererTTY(t *testing.T) {
	var b strings.Builder
	r := NewRenderer(&b, true)
	r.now = fakeClock(60 * time.Millisecond)
	const total = 2_000_000
	for done := int64(0); done <= total; done += 250_000 {
		r.Update(Progress{File: "model.safetensors", Done: done, Total: total})
	}
	r.Update(Progress{File: "config.json", Done: 0, Total: 612})
	r.Update(Progress{File: "config.json", Done: 612, Total: 612})
	out := b.String()
	// One line per file, redrawn in place with \r and cleared to the end.
	if lines := strings.Count(out, "\n"); lines != 2 {
		t.Errorf("%d lines, want 2:\n%q", lines, out)
	}
	// Redraws at most every 100 ms: the clock moves 60 ms per update, so
	// about every other update, plus the final one.
	if n := strings.Count(out, "\r"); n < 5 || n > 8 {
		t.Errorf("%d redraws of model.safetensors and config.json, want 5-8:\n%q", n, out)
	}
	for _, want := range []string{
		"\rmodel.safetensors  2.0 MB / 2.0 MB  100%",
		"\x1b[K",
		"\rconfig.json  612 B / 612 B  100%",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
	if !strings.Contains(out, "MB/s") {
		t.Errorf("output shows no rate:\n%q", out)
	}
}

func TestRendererPlain(t *testing.T) {
	var b strings.Builder
	r := NewRenderer(&b, false)
	r.now = fakeClock(time.Second)
	const total = 100_000_000
	for done := int64(50_000_000); done <= total; done += 1_000_000 {
		r.Update(Progress{File: "model.safetensors", Done: done, Total: total})
	}
	r.Update(Progress{File: "vocab.txt", Done: 0, Total: 231_508})
	r.Update(Progress{File: "vocab.txt", Done: 100_000, Total: 231_508})
	r.Finish()
	out := b.String()
	if strings.ContainsAny(out, "\r\x1b") {
		t.Errorf("plain output has terminal controls:\n%q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := []string{
		"resuming model.safetensors (100.0 MB)",
		"model.safetensors  60.0 MB / 100.0 MB   60%  1.0 MB/s",
		"model.safetensors  70.0 MB / 100.0 MB   70%  1.0 MB/s",
		"model.safetensors  80.0 MB / 100.0 MB   80%  1.0 MB/s",
		"model.safetensors  90.0 MB / 100.0 MB   90%  1.0 MB/s",
		"model.safetensors  100.0 MB / 100.0 MB  100%  1.0 MB/s",
		"downloading vocab.txt (231.5 kB)",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("plain output:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 133_466_304: "133.5 MB", 1_340_000_000: "1.34 GB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
