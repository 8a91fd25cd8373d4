package jobs

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Renderer draws a job's progress events for `ragd ingest`: a progress bar
// redrawn in place on a terminal, plain progress lines otherwise, a line
// for each failed item as it fails, and a summary when the job ends. It is
// not safe for concurrent use.
type Renderer struct {
	w   io.Writer
	tty bool
	// Width is the terminal width the bar fits in [80].
	Width int
	// Interval is the least time between redraws on a terminal [100 ms] or
	// between plain progress lines [5 s].
	Interval time.Duration
	// Now is the clock that paces redraws [time.Now].
	Now func() time.Time

	last   time.Time
	drawn  bool // a bar is on the terminal's current line
	latest Event
	err    error
}

// NewRenderer returns a Renderer writing to w; isTTY selects the progress
// bar.
func NewRenderer(w io.Writer, isTTY bool) *Renderer {
	r := &Renderer{w: w, tty: isTTY, Width: 80, Interval: 5 * time.Second, Now: time.Now}
	if isTTY {
		r.Interval = 100 * time.Millisecond
	}
	return r
}

// Render draws one event. It returns the first write error, after which it
// draws nothing more.
func (r *Renderer) Render(ev Event) error {
	if r.err != nil {
		return r.err
	}
	r.latest = ev
	switch ev.Type {
	case EventDone:
		r.clear()
		if ev.Job != nil {
			r.Summary(*ev.Job)
		}
		return r.err
	case EventItem:
		if it := ev.Item; it != nil && it.Status == "failed" {
			r.clear()
			r.printf("failed  %s: %s\n", it.Source, reasonText(*it))
		}
	}
	now := r.Now()
	if !r.last.IsZero() && now.Sub(r.last) < r.Interval && !(r.tty && !r.drawn) {
		return r.err
	}
	r.last = now
	if r.tty {
		r.printf("\r\x1b[K%s", r.bar(ev))
		r.drawn = true
	} else {
		r.printf("%s\n", r.line(ev))
	}
	return r.err
}

// clear removes the bar from the terminal's current line.
func (r *Renderer) clear() {
	if r.tty && r.drawn {
		r.printf("\r\x1b[K")
		r.drawn = false
	}
}

func (r *Renderer) printf(format string, args ...any) {
	if r.err == nil {
		_, r.err = fmt.Fprintf(r.w, format, args...)
	}
}

// bar renders: 120/281 [=======>       ]  42%  1,234 chunks  3.1 docs/s  0:41 left  current
func (r *Renderer) bar(ev Event) string {
	p := ev.Progress
	const barWidth = 20
	frac := 0.0
	if p.Total > 0 {
		frac = float64(p.Done) / float64(p.Total)
	}
	fill := int(frac * barWidth)
	b := strings.Repeat("=", fill)
	if fill < barWidth {
		b += ">" + strings.Repeat(" ", barWidth-fill-1)
	}
	total := strconv.Itoa(p.Total)
	if p.Listing > 0 {
		total += "+"
	}
	s := fmt.Sprintf("%d/%s [%s] %3d%% %s chunks %.1f docs/s %s left",
		p.Done, total, b, int(frac*100), thousands(int64(p.Chunks)), p.DocsPerSecond, eta(p.ETAMS))
	s = truncate(s, r.Width-1)
	// The current item, cut from the left: the end of a path says most.
	if room := r.Width - 1 - utf8.RuneCountInString(s) - 2; len(ev.Running) > 0 && room >= 8 {
		s += "  " + truncateLeft(ev.Running[0], room)
	}
	return s
}

func (r *Renderer) line(ev Event) string {
	p := ev.Progress
	s := fmt.Sprintf("progress: %d/%d items", p.Done, p.Total)
	if p.Listing > 0 {
		s += fmt.Sprintf(" (listing %d more sources)", p.Listing)
	}
	s += fmt.Sprintf(", %d failed, %d skipped, %s chunks, %.1f docs/s, %s left",
		p.Failed, p.Skipped, thousands(int64(p.Chunks)), p.DocsPerSecond, eta(p.ETAMS))
	return s
}

// listedSkips caps the skipped items a summary lists.
const listedSkips = 20

// Summary prints the final summary of a job: its outcome and time, the
// documents new, updated and unchanged, the items failed and skipped, the
// chunks, and the failed and skipped items with their reasons.
func (r *Renderer) Summary(j Job) {
	p := j.Progress
	r.printf("Job %s %s in %s: %d items into %q\n", j.ID, j.Status, duration(p.ElapsedMS), p.Done, j.Collection)
	r.printf("  documents: %d new, %d updated, %d unchanged\n", p.Indexed, p.Updated, p.Unchanged)
	r.printf("  items:     %d failed, %d skipped", p.Failed, p.Skipped)
	if p.Cancelled > 0 {
		r.printf(", %d cancelled", p.Cancelled)
	}
	r.printf("\n  chunks:    %s (%s embedded), %s read\n", thousands(int64(p.Chunks)), thousands(int64(p.Embedded)), size(p.Bytes))
	var failedItems, skippedItems []Item
	for _, it := range j.Failures {
		if it.Status == "failed" {
			failedItems = append(failedItems, it)
		} else {
			skippedItems = append(skippedItems, it)
		}
	}
	if p.Failed > 0 {
		r.printf("Failed (%d):\n", p.Failed)
		for _, it := range failedItems {
			r.printf("  %s: %s\n", it.Source, reasonText(it))
		}
		if more := p.Failed - len(failedItems); more > 0 {
			r.printf("  ... and %d more\n", more)
		}
	}
	if p.Skipped > 0 {
		r.printf("Skipped (%d):\n", p.Skipped)
		for i, it := range skippedItems {
			if i == listedSkips {
				break
			}
			r.printf("  %s: %s\n", it.Source, it.Reason)
		}
		if more := p.Skipped - min(len(skippedItems), listedSkips); more > 0 {
			r.printf("  ... and %d more\n", more)
		}
	}
}

func reasonText(it Item) string {
	if it.Error == "" {
		return it.Reason
	}
	return it.Reason + ": " + it.Error
}

func eta(ms int64) string {
	if ms < 0 {
		return "--:--"
	}
	s := (ms + 999) / 1000
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

func duration(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// truncateLeft cuts s to at most n runes, keeping its end.
func truncateLeft(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)
	return "…" + string(rs[len(rs)-n+1:])
}

// truncate cuts s to at most n runes.
func truncate(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)
	return string(rs[:n-1]) + "…"
}
