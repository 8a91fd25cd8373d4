package jobs_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd/ingest/jobs"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// renderScript is a job's events as a stream would deliver them, each with
// the time it arrives.
func renderScript() ([]jobs.Event, []time.Duration) {
	var evs []jobs.Event
	var at []time.Duration
	progress := func(done, failed, skipped, chunks int, elapsed time.Duration) jobs.Progress {
		p := jobs.Progress{Total: 6, Done: done, Failed: failed, Skipped: skipped, Chunks: chunks, Indexed: done - failed - skipped,
			ElapsedMS: elapsed.Milliseconds(), ETAMS: -1}
		if done > 0 {
			p.DocsPerSecond = float64(done) / elapsed.Seconds()
			p.ETAMS = int64(float64(6-done) / p.DocsPerSecond * 1000)
		}
		return p
	}
	add := func(ev jobs.Event, d time.Duration) {
		ev.JobID = "3f2a9c0d5e6b7a8190a1b2c3d4e5f607"
		evs, at = append(evs, ev), append(at, d)
	}
	first := progress(0, 0, 0, 0, 0)
	first.Total, first.Listing = 0, 1
	add(jobs.Event{Type: jobs.EventProgress, Status: jobs.StatusQueued, Progress: first}, 0)
	add(jobs.Event{Type: jobs.EventProgress, Status: jobs.StatusRunning, Progress: progress(0, 0, 0, 0, time.Second), Running: []string{"docs/guide/intro.md"}}, time.Second)
	items := []jobs.Item{
		{Seq: 1, Source: "docs/guide/intro.md", Status: "indexed", Chunks: 12},
		{Seq: 2, Source: "docs/logo.png", Status: "skipped", Reason: "unsupported_media_type", Error: "Image files are not supported."},
		{Seq: 3, Source: "docs/guide/setup.md", Status: "indexed", Chunks: 30},
		{Seq: 4, Source: "docs/report.pdf", Status: "failed", Reason: "invalid", Error: "The PDF is encrypted."},
		{Seq: 5, Source: "docs/faq.html", Status: "indexed", Chunks: 8},
	}
	chunks, failed, skipped := 0, 0, 0
	for i, it := range items {
		chunks += it.Chunks
		switch it.Status {
		case "failed":
			failed++
		case "skipped":
			skipped++
		}
		running := []string{fmt.Sprintf("docs/next-%d.md", i)}
		add(jobs.Event{Type: jobs.EventItem, Status: jobs.StatusRunning, Seq: it.Seq, Item: &items[i], Running: running,
			Progress: progress(i+1, failed, skipped, chunks, time.Duration(2+i)*time.Second)}, time.Duration(2+i)*time.Second)
	}
	final := jobs.Job{
		ID: "3f2a9c0d5e6b7a8190a1b2c3d4e5f607", Collection: "handbook", Status: jobs.StatusFailed,
		Progress: jobs.Progress{Total: 6, Done: 6, Failed: 1, Skipped: 1, Indexed: 3, Updated: 1, Unchanged: 0,
			Chunks: 62, Embedded: 50, Bytes: 3 << 20, ElapsedMS: 63400},
		Failures: []jobs.Item{items[1], items[3]},
	}
	add(jobs.Event{Type: jobs.EventDone, Status: final.Status, Seq: 6, Progress: final.Progress, Job: &final}, 64*time.Second)
	return evs, at
}

func TestRenderer(t *testing.T) {
	for _, tc := range []struct {
		name string
		tty  bool
	}{
		{"tty", true},
		{"plain", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			r := jobs.NewRenderer(&buf, tc.tty)
			var now time.Time
			r.Now = func() time.Time { return now }
			if !tc.tty {
				r.Interval = 3 * time.Second
			}
			evs, at := renderScript()
			start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
			for i, ev := range evs {
				now = start.Add(at[i])
				if err := r.Render(ev); err != nil {
					t.Fatal(err)
				}
			}
			// Show terminal control sequences legibly in the golden file.
			got := strings.NewReplacer("\r", "<CR>", "\x1b[K", "<EL>").Replace(buf.String())
			golden := filepath.Join("testdata", "render_"+tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func TestRendererBarFitsWidth(t *testing.T) {
	var buf bytes.Buffer
	r := jobs.NewRenderer(&buf, true)
	r.Width = 60
	r.Render(jobs.Event{Type: jobs.EventProgress, Progress: jobs.Progress{Total: 100000, Done: 99999, Chunks: 123456789, ETAMS: 3_600_000 * 5},
		Running: []string{strings.Repeat("very-long-name/", 10)}})
	line := strings.TrimPrefix(buf.String(), "\r\x1b[K")
	if n := len([]rune(line)); n > 59 {
		t.Errorf("bar is %d runes wide, want at most 59: %q", n, line)
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, errors.New("broken pipe")
}

func TestRendererStopsAtWriteError(t *testing.T) {
	w := &failingWriter{}
	r := jobs.NewRenderer(w, false)
	evs, _ := renderScript()
	var err error
	for _, ev := range evs {
		if e := r.Render(ev); e != nil && err == nil {
			err = e
		}
	}
	if err == nil || w.n != 1 {
		t.Errorf("err = %v after %d writes, want an error after 1", err, w.n)
	}
}
