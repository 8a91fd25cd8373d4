package extract

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// Sandbox defaults.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMemoryLimit  = 512 << 20
	DefaultInProcessMax = 16 << 10
)

// Sandbox extracts untrusted files in a child process, one process per
// file, with a wall-clock limit, a memory limit and a cap on the text it
// returns; a crash, hang or bomb fails that file only, with its reason
// (ReasonTimeout, ReasonMemoryLimit, ReasonParse...). The child is Command,
// which must end up calling [ServeChild] (ragd runs itself as
// "ragd __extract").
//
// Formats whose parsers are linear and safe run in the calling process:
// plain text, CSV and JSON Lines, and Markdown and MDX up to InProcessMax
// bytes (goldmark is quadratic on some hostile inputs: 58 KB of "[](" takes
// 5 s). PDF, DOCX, HTML and larger Markdown run in the child. Sniffing runs
// in the calling process and never parses a file: an ELF named .pdf is
// rejected before any child starts.
//
// The zero value is not usable: Command must be set. A Sandbox is safe for
// concurrent use; each call starts its own child.
type Sandbox struct {
	// Command is the child's argv, for example {os.Executable(), "__extract"}.
	Command []string
	// Env is the child's environment; nil means the parent's.
	Env []string
	// Timeout is the wall-clock limit of one child; 0 means DefaultTimeout.
	Timeout time.Duration
	// MemoryLimit is the memory a child may use, in bytes; 0 means
	// DefaultMemoryLimit.
	MemoryLimit int64
	// InProcessMax is the size up to which Markdown and MDX are parsed in
	// the calling process; 0 means DefaultInProcessMax, negative never.
	InProcessMax int
	// Options configure extraction, in the child and in process.
	// Options.MaxText is the cap on each document's text.
	Options Options
	// Logger, when set, gets a warning for each child stopped for a limit
	// or crashed, with what its stderr said.
	Logger *slog.Logger
}

var _ ingest.Extractor = (*Sandbox)(nil)

func (s *Sandbox) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}

func (s *Sandbox) memoryLimit() int64 {
	if s.MemoryLimit > 0 {
		return s.MemoryLimit
	}
	return DefaultMemoryLimit
}

// InProcess reports whether a file of the given type and size is extracted
// in the calling process rather than in a child.
func (s *Sandbox) InProcess(typ string, size int) bool {
	switch typ {
	case TypeText, TypeCSV, TypeJSONL:
		return true
	case TypeMarkdown, TypeMDX:
		max := s.InProcessMax
		if max == 0 {
			max = DefaultInProcessMax
		}
		return size <= max
	}
	return false
}

// Extract sniffs f and extracts it, in a child process unless the type is
// cheap to parse (see InProcess).
func (s *Sandbox) Extract(ctx context.Context, f ingest.File) ([]ingest.Doc, error) {
	typ, err := Sniff(f.Name, f.ContentType, f.Data)
	if err != nil {
		return nil, err
	}
	if s.InProcess(typ, len(f.Data)) {
		return New(s.Options).ExtractAs(ctx, typ, f)
	}
	return s.ExtractInChild(ctx, typ, f)
}

// childRequest is the header the parent sends before the file's bytes.
type childRequest struct {
	Type        string  `json:"type"`
	Name        string  `json:"name"`
	ContentType string  `json:"content_type,omitempty"`
	Size        int     `json:"size"`
	Options     Options `json:"options"`
	MemoryLimit int64   `json:"memory_limit"`
	TimeoutMS   int64   `json:"timeout_ms"`
}

// childResponse is what the child sends back.
type childResponse struct {
	Docs    []ingest.Doc  `json:"docs,omitempty"`
	Error   *childError   `json:"error,omitempty"`
	Records *RecordErrors `json:"records,omitempty"`
}

type childError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Cause   string `json:"cause,omitempty"` // for logs only
}

// maxHeader bounds the JSON header of a request.
const maxHeader = 1 << 20

// writeFrame writes a length-prefixed frame.
func writeFrame(w io.Writer, header []byte, body []byte) error {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(header)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return err
	}
	if len(body) > 0 {
		if _, err := w.Write(body); err != nil {
			return err
		}
	}
	return nil
}

// readFrame reads a length-prefixed frame of at most max bytes.
func readFrame(r io.Reader, max int) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := int(binary.BigEndian.Uint32(n[:]))
	if size > max {
		return nil, fmt.Errorf("frame of %d bytes, more than %d", size, max)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// maxResponse bounds what the parent reads back: the text cap per
// document, with room for JSON escaping and metadata.
func maxResponse(maxText int) int {
	return 2*maxText + 4<<20
}

// ExtractInChild extracts f as typ in a child process, whatever its type.
func (s *Sandbox) ExtractInChild(ctx context.Context, typ string, f ingest.File) ([]ingest.Doc, error) {
	if len(s.Command) == 0 {
		return nil, fail(ReasonInternal, ragd.EInternal, "the extraction sandbox has no command")
	}
	opts, limit, timeout := s.Options.withDefaults(), s.memoryLimit(), s.timeout()
	req := childRequest{
		Type: typ, Name: f.Name, ContentType: f.ContentType, Size: len(f.Data),
		Options: opts, MemoryLimit: limit, TimeoutMS: timeout.Milliseconds(),
	}
	header, err := marshalJSON(req)
	if err != nil {
		return nil, failWrap(ReasonInternal, ragd.EInternal, err, "the extraction request could not be encoded")
	}

	deadline, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.Command(s.Command[0], s.Command[1:]...)
	cmd.Env = s.Env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, failWrap(ReasonInternal, ragd.EInternal, err, "the extraction process could not be started")
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, failWrap(ReasonInternal, ragd.EInternal, err, "the extraction process could not be started")
	}
	var stderr limitedBuffer
	stderr.max = 64 << 10
	cmd.Stderr = &stderr
	prepareChild(cmd)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, failWrap(ReasonInternal, ragd.EInternal, err, "the extraction process could not be started")
	}

	// Everything below ends with the child dead and waited for.
	var (
		once    sync.Once
		killWhy string
	)
	kill := func(why string) {
		once.Do(func() {
			killWhy = why
			killChild(cmd)
		})
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-deadline.Done():
			if ctx.Err() != nil {
				kill("cancelled")
			} else {
				kill(ReasonTimeout)
			}
		case <-done:
		}
	}()
	var peak atomic.Int64
	go watchMemory(cmd, limit, done, func() { kill(ReasonMemoryLimit) }, &peak)

	// Send the request; a child that dies early closes the pipe, which is
	// reported by Wait below, not here.
	go func() {
		w := bufio.NewWriterSize(stdin, 64<<10)
		if writeFrame(w, header, f.Data) == nil {
			w.Flush()
		}
		stdin.Close()
	}()

	raw, readErr := readFrame(stdout, maxResponse(opts.MaxText))
	if readErr != nil && !errors.Is(readErr, io.EOF) && !errors.Is(readErr, io.ErrUnexpectedEOF) {
		kill(ReasonOutputTooLarge) // oversized or unreadable answer
	}
	io.Copy(io.Discard, io.LimitReader(stdout, 1<<20))
	waitErr := cmd.Wait()
	// Once the child is waited for, no kill may follow (its pid may be
	// reused); Do also orders a kill that happened before this read of
	// killWhy.
	once.Do(func() {})
	close(done)
	elapsed := time.Since(start)

	// A child stopped or crashed is worth an operator's attention (a
	// parser bug, limits too tight); a file the parser rejects is not.
	stopped := func(err error) ([]ingest.Doc, error) {
		if s.Logger != nil {
			s.Logger.Warn("extraction child stopped", "file", f.Name, "type", typ, "reason", Reason(err),
				"elapsed_ms", elapsed.Milliseconds(), "peak_resident_mb", peak.Load()>>20, "err", err)
		}
		return nil, err
	}
	switch killWhy {
	case "cancelled":
		return nil, ctx.Err()
	case ReasonTimeout:
		return stopped(fail(ReasonTimeout, ragd.EInvalid, "extraction took longer than %s and was stopped", timeout))
	case ReasonMemoryLimit:
		return stopped(memoryLimitFailure(limit, nil))
	case ReasonOutputTooLarge:
		return stopped(failWrap(ReasonOutputTooLarge, ragd.ETooLarge, readErr, "the extracted text is larger than allowed"))
	}
	if readErr != nil || waitErr != nil {
		return stopped(childCrash(waitErr, readErr, stderr.String(), limit, peak.Load(), elapsed))
	}
	var resp childResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		return nil, failWrap(ReasonInternal, ragd.EInternal, err, "the extraction process answered nonsense")
	}
	if resp.Error != nil {
		var cause error
		if resp.Error.Cause != "" {
			cause = errors.New(resp.Error.Cause)
		}
		return nil, &Failure{Reason: resp.Error.Reason, Err: &ragd.Error{Code: resp.Error.Code, Message: resp.Error.Message, Err: cause}}
	}
	docs := sanitizeDocs(resp.Docs, opts.MaxText)
	if resp.Records != nil && len(resp.Records.Records) > 0 {
		return docs, resp.Records
	}
	return docs, nil
}

// childCrash explains a child that exited without an answer: the Go
// runtime's "out of memory" (the memory limit), a signal, or a crash. A
// crash of a child whose resident memory had reached two thirds of the
// limit (peak, as last seen) is put down to memory too: near its limits any
// allocation can fail, and not every failure says "out of memory".
func childCrash(waitErr, readErr error, stderr string, limit, peak int64, elapsed time.Duration) error {
	cause := waitErr
	if cause == nil {
		cause = readErr
	}
	detail := fmt.Errorf("%w (after %s): %s", cause, elapsed.Round(time.Millisecond), crashSummary(stderr))
	if strings.Contains(stderr, "out of memory") || strings.Contains(stderr, "cannot allocate memory") || (limit > 0 && peak >= limit/3*2) {
		return memoryLimitFailure(limit, detail)
	}
	return failWrap(ReasonParse, ragd.EInvalid, detail, "the file could not be parsed (the parser crashed)")
}

// memoryLimitFailure is the error of a child stopped for, or dead of,
// needing more than limit bytes; cause, when not nil, is kept for logs.
func memoryLimitFailure(limit int64, cause error) error {
	return failWrap(ReasonMemoryLimit, ragd.ETooLarge, cause, "extraction needed more than %d MB of memory and was stopped", limit>>20)
}

// crashSummary picks what explains a crash from the child's stderr: the
// Go runtime's "fatal error:" or "panic:" line and the line after it (the
// goroutine dumps that follow are noise in a log), else its last 500 bytes.
func crashSummary(stderr string) string {
	lines := strings.Split(stderr, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "fatal error:") || strings.HasPrefix(l, "panic:") {
			return strings.Join(lines[i:min(i+2, len(lines))], " ")
		}
	}
	if len(stderr) > 500 {
		stderr = stderr[len(stderr)-500:]
	}
	return strings.TrimSpace(stderr)
}

// sanitizeDocs re-checks what a child returned: valid UTF-8 without NULs
// or invisible characters, within the text cap.
func sanitizeDocs(docs []ingest.Doc, maxText int) []ingest.Doc {
	for i := range docs {
		d := &docs[i]
		d.Title = squeezeLine(d.Title)
		size := 0
		blocks := d.Blocks[:0]
		for _, b := range d.Blocks {
			if !utf8.ValidString(b.Text) || strings.ContainsRune(b.Text, 0) {
				b.Text = clean(b.Text)
			}
			if size+len(b.Text) > maxText {
				d.Truncated = true
				break
			}
			size += len(b.Text)
			blocks = append(blocks, b)
		}
		d.Blocks = blocks
		if d.Metadata != nil {
			d.Metadata = metadataMap(d.Metadata, 0)
		}
	}
	return docs
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ServeChild is the child side of [Sandbox]: it reads one request from r,
// limits its own memory, extracts the file and writes the answer to w.
// ragd calls it when run as "ragd __extract", with os.Stdin and os.Stdout;
// nothing else may write to w. It returns an error only when the request
// cannot be read or the answer cannot be written; extraction errors are
// part of the answer.
func ServeChild(ctx context.Context, r io.Reader, w io.Writer) error {
	br := bufio.NewReaderSize(r, 64<<10)
	header, err := readFrame(br, maxHeader)
	if err != nil {
		return fmt.Errorf("read extraction request: %w", err)
	}
	var req childRequest
	if err := json.Unmarshal(header, &req); err != nil {
		return fmt.Errorf("decode extraction request: %w", err)
	}
	limitSelf(req.MemoryLimit)
	data := make([]byte, req.Size)
	if _, err := io.ReadFull(br, data); err != nil {
		return fmt.Errorf("read file: %w", err)
	}
	opts := req.Options
	if req.MemoryLimit > 0 {
		// PDFium's heap lives in a WebAssembly memory that grows by copying:
		// keep it to a third of the child's limit.
		opts.PDFMemoryLimit = req.MemoryLimit / 3
	}
	if req.TimeoutMS > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.TimeoutMS)*time.Millisecond)
		defer cancel()
	}
	e := New(opts)
	docs, xerr := e.ExtractAs(ctx, req.Type, ingest.File{Name: req.Name, ContentType: req.ContentType, Data: data})
	data = nil
	var resp childResponse
	resp.Docs = docs
	if xerr != nil {
		var rec *RecordErrors
		if errors.As(xerr, &rec) && len(docs) > 0 {
			resp.Records = rec
		} else {
			resp.Docs = nil
			resp.Error = &childError{Code: ragd.ErrorCode(xerr), Message: ragd.ErrorMessage(xerr), Reason: Reason(xerr), Cause: xerr.Error()}
		}
	}
	out, err := marshalJSON(resp)
	if err != nil {
		return fmt.Errorf("encode extraction answer: %w", err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := writeFrame(bw, out, nil); err != nil {
		return fmt.Errorf("write extraction answer: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write extraction answer: %w", err)
	}
	// The engine is not closed: the process exits now, and closing a pool
	// whose module trapped can hang.
	return nil
}
