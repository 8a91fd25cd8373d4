package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxLine is the longest SSE line (and event) the reader accepts:
// 16 MiB. Real LLM streams carry lines far longer than bufio.Scanner's
// 64 KB default (a long tool call, a whole answer in one event).
const DefaultMaxLine = 16 << 20

// ErrLineTooLong is returned by SSEReader.Next for a line or event over
// the reader's cap.
var ErrLineTooLong = errors.New("sse: line over the size cap")

// Event is one server-sent event. Data is the event's data lines joined
// with "\n"; it is only valid until the next call to Next.
type Event struct {
	Name string
	Data []byte
}

// SSEReader reads server-sent events (the text/event-stream format) from a
// stream. Lines end in "\n" or "\r\n" and may be of any length up to the
// cap; comments and fields other than data and event are ignored.
type SSEReader struct {
	r       *bufio.Reader
	max     int
	line    []byte
	data    []byte
	name    string
	hasData bool
}

// NewSSEReader returns a reader of r that accepts lines and events of up to
// maxLine bytes; maxLine ≤ 0 means DefaultMaxLine.
func NewSSEReader(r io.Reader, maxLine int) *SSEReader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	return &SSEReader{r: bufio.NewReaderSize(r, 32<<10), max: maxLine}
}

// Next returns the next event. At the end of the stream it returns io.EOF,
// or io.ErrUnexpectedEOF when the stream ended inside a line or an event.
// A line or event over the cap is ErrLineTooLong; read errors are returned
// as they are.
func (s *SSEReader) Next() (Event, error) {
	s.data = s.data[:0]
	s.name = ""
	s.hasData = false
	for {
		line, err := s.readLine()
		if err != nil {
			if err == io.EOF && (len(line) > 0 || s.hasData || s.name != "") {
				return Event{}, io.ErrUnexpectedEOF
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if s.hasData {
				return Event{Name: s.name, Data: s.data}, nil
			}
			s.name = ""
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if s.hasData {
				s.data = append(s.data, '\n')
			}
			if len(s.data)+len(value) > s.max {
				return Event{}, fmt.Errorf("%w: event of more than %d bytes", ErrLineTooLong, s.max)
			}
			s.data = append(s.data, value...)
			s.hasData = true
		case "event":
			s.name = string(value)
		}
	}
}

// readLine returns the next line without its line ending. At the end of
// the stream it returns the unterminated rest (possibly empty) and io.EOF.
func (s *SSEReader) readLine() ([]byte, error) {
	frag, err := s.r.ReadSlice('\n')
	if err == nil {
		return trimEOL(frag), nil
	}
	if err != bufio.ErrBufferFull {
		return frag, err
	}
	s.line = append(s.line[:0], frag...)
	for {
		if len(s.line) > s.max {
			return nil, fmt.Errorf("%w: line of more than %d bytes", ErrLineTooLong, s.max)
		}
		frag, err = s.r.ReadSlice('\n')
		s.line = append(s.line, frag...)
		if err == nil {
			if len(s.line) > s.max+2 {
				return nil, fmt.Errorf("%w: line of more than %d bytes", ErrLineTooLong, s.max)
			}
			return trimEOL(s.line), nil
		}
		if err != bufio.ErrBufferFull {
			return s.line, err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = b[:len(b)-1]
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}
