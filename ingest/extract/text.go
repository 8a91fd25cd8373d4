package extract

import (
	"bytes"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// decodeText returns data as UTF-8: a UTF-8 byte order mark is dropped,
// UTF-16 with a byte order mark (or unmistakably UTF-16 without one) is
// converted, valid or nearly valid UTF-8 is kept (clean drops the stray
// bytes later), and anything else is read as Latin-1 (in its Windows-1252
// form, whose 0x80-0x9F are printable).
func decodeText(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte{0xef, 0xbb, 0xbf}):
		data = data[3:]
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}):
		return decodeUTF16(data[2:], false)
	case bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		return decodeUTF16(data[2:], true)
	default:
		if le, ok := utf16NoBOM(data); ok {
			return decodeUTF16(data, !le)
		}
	}
	if utf8.Valid(data) || mostlyUTF8(data) {
		return string(data)
	}
	s, err := charmap.Windows1252.NewDecoder().Bytes(data)
	if err != nil {
		return string(data)
	}
	return string(s)
}

// mostlyUTF8 reports whether data is UTF-8 with a few stray bytes: at most
// one invalid byte per 100 valid multi-byte sequences.
func mostlyUTF8(data []byte) bool {
	valid, invalid := 0, 0
	for i := 0; i < len(data); {
		if data[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			invalid++
		} else {
			valid++
		}
		i += size
	}
	return invalid*100 <= valid
}

// utf16NoBOM detects UTF-16 text without a byte order mark from the
// pattern of zero bytes in its first kilobyte: mostly ASCII text in UTF-16
// has a zero in every other byte. It reports whether the text is
// little-endian and whether it is UTF-16 at all.
func utf16NoBOM(data []byte) (littleEndian, ok bool) {
	n := min(len(data), 1024) &^ 1
	if n < 4 {
		return false, false
	}
	var evenZero, oddZero int
	for i := 0; i < n; i += 2 {
		if data[i] == 0 {
			evenZero++
		}
		if data[i+1] == 0 {
			oddZero++
		}
	}
	pairs := n / 2
	switch {
	case oddZero*10 >= pairs*9 && evenZero*10 < pairs:
		return true, true
	case evenZero*10 >= pairs*9 && oddZero*10 < pairs:
		return false, true
	}
	return false, false
}

func decodeUTF16(data []byte, bigEndian bool) string {
	u := make([]uint16, len(data)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
		} else {
			u[i] = uint16(data[2*i+1])<<8 | uint16(data[2*i])
		}
	}
	return string(utf16.Decode(u))
}

// text extracts plain text: one paragraph per run of lines between blank
// lines.
func (e *Extractor) text(f ingest.File) ([]ingest.Doc, error) {
	s := clean(decodeText(f.Data))
	b := newBuilder(e.opts.MaxText)
	b.doc.Title = baseTitle(f.Name)
	for _, p := range splitParagraphs(s) {
		if !b.add(ingest.BlockParagraph, 0, 0, p) {
			break
		}
	}
	if len(b.doc.Blocks) == 0 {
		return nil, fail(ReasonEmpty, ragd.EInvalid, "file contains no text")
	}
	if b.doc.Title == "" {
		b.doc.Title = firstLine(b.doc.Blocks[0].Text)
	}
	return []ingest.Doc{b.doc}, nil
}

// splitParagraphs splits s at blank lines (lines of only spaces count as
// blank).
func splitParagraphs(s string) []string {
	var out []string
	start, blank := 0, true
	lineStart := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '\n' {
			continue
		}
		line := s[lineStart:i]
		isBlank := strings.TrimSpace(line) == ""
		if isBlank && !blank {
			out = append(out, s[start:lineStart])
		}
		if !isBlank && blank {
			start = lineStart
		}
		blank = isBlank
		lineStart = i + 1
	}
	if !blank {
		out = append(out, s[start:])
	}
	return out
}

// firstLine returns the first line of s, shortened to at most 100 bytes.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return cutAt(strings.TrimSpace(s), 100)
}
