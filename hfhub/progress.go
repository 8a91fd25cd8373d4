package hfhub

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Progress is the state of one file's download.
type Progress struct {
	// File is the file's name in the repository.
	File string
	// Done is the number of bytes on disk, those of an earlier attempt
	// included when resuming.
	Done int64
	// Total is the file's size.
	Total int64
}

// Renderer draws download progress for a person: on a terminal it redraws
// one line per file in place; elsewhere (a log, a pipe) it writes plain
// lines, one when a file starts, one per tenth of a large file, and one
// when it ends. Its Update method is a Request.Progress function. It is
// safe for concurrent use.
type Renderer struct {
	w     io.Writer
	tty   bool
	now   func() time.Time
	every time.Duration

	mu      sync.Mutex
	file    string    // file being drawn
	start   time.Time // when it started
	from    int64     // bytes it had when it started (a resumed download)
	last    time.Time // last redraw
	tenth   int64     // last tenth written (plain lines)
	drawing bool      // a TTY line is open
}

// NewRenderer returns a renderer writing to w; isTTY says whether w is a
// terminal.
func NewRenderer(w io.Writer, isTTY bool) *Renderer {
	return &Renderer{w: w, tty: isTTY, now: time.Now, every: 100 * time.Millisecond}
}

// Update records a file's progress and redraws when due.
func (r *Renderer) Update(p Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if p.File != r.file {
		r.finishLine()
		r.file, r.start, r.from, r.tenth = p.File, now, p.Done, p.Done*10/max(p.Total, 1)
		r.last = time.Time{}
		if !r.tty {
			verb := "downloading"
			if p.Done > 0 {
				verb = "resuming"
			}
			fmt.Fprintf(r.w, "%s %s (%s)\n", verb, p.File, formatBytes(p.Total))
		}
	}
	done := p.Done >= p.Total
	if r.tty {
		if done || r.last.IsZero() || now.Sub(r.last) >= r.every {
			r.last = now
			fmt.Fprintf(r.w, "\r%s\x1b[K", r.line(p, now))
			r.drawing = true
			if done {
				fmt.Fprint(r.w, "\n")
				r.drawing = false
				r.file = ""
			}
		}
		return
	}
	if done {
		fmt.Fprintf(r.w, "%s\n", r.line(p, now))
		r.file = ""
		return
	}
	if p.Total >= 10<<20 {
		if t := p.Done * 10 / p.Total; t > r.tenth {
			r.tenth = t
			fmt.Fprintf(r.w, "%s\n", r.line(p, now))
		}
	}
}

// Finish ends an unfinished line, for example after a failed download.
func (r *Renderer) Finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finishLine()
	r.file = ""
}

func (r *Renderer) finishLine() {
	if r.drawing {
		fmt.Fprint(r.w, "\n")
		r.drawing = false
	}
}

// line formats "NAME  DONE / TOTAL  PCT%  RATE".
func (r *Renderer) line(p Progress, now time.Time) string {
	pct := 100.0
	if p.Total > 0 {
		pct = float64(p.Done) * 100 / float64(p.Total)
	}
	s := fmt.Sprintf("%s  %s / %s  %3.0f%%", p.File, formatBytes(p.Done), formatBytes(p.Total), pct)
	if el := now.Sub(r.start).Seconds(); el > 0 && p.Done > r.from {
		s += fmt.Sprintf("  %s/s", formatBytes(int64(float64(p.Done-r.from)/el)))
	}
	return s
}

// formatBytes writes a size in B, kB, MB or GB (powers of 1000, as the Hub
// shows sizes).
func formatBytes(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}
