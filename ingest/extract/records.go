package extract

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// record is one CSV row or JSON line on its way to a document or block.
type record struct {
	line  int
	key   string
	title string
	text  string // "column: value" lines, or the record's text
	meta  map[string]any
}

// recordSet turns records into documents: one per record with
// RowsAsDocuments, else one document with the records as blocks.
type recordSet struct {
	e     *Extractor
	name  string
	docs  []ingest.Doc
	one   *builder // the single document, when not RowsAsDocuments
	bad   []RecordError
	total int
	trunc bool
	keyed map[string]int // key -> line, to report duplicates
}

func newRecordSet(e *Extractor, name string) *recordSet {
	rs := &recordSet{e: e, name: name, keyed: map[string]int{}}
	if !e.opts.RowsAsDocuments {
		rs.one = newBuilder(e.opts.MaxText)
		rs.one.doc.Title = baseTitle(name)
	}
	return rs
}

// full reports whether no more records should be read.
func (rs *recordSet) full() bool {
	if rs.total >= rs.e.opts.MaxRecords {
		rs.trunc = true
		return true
	}
	return rs.one != nil && rs.one.full()
}

func (rs *recordSet) fail(line int, reason, format string, args ...any) {
	rs.total++
	rs.bad = append(rs.bad, RecordError{Line: line, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

func (rs *recordSet) add(r record) {
	rs.total++
	if r.key != "" && rs.one == nil {
		if prev, dup := rs.keyed[r.key]; dup {
			rs.total--
			rs.fail(r.line, ReasonParse, "id %q repeats the record of line %d", cutAt(r.key, 64), prev)
			return
		}
		rs.keyed[r.key] = r.line
	}
	if rs.one != nil {
		if r.title != "" {
			rs.one.add(ingest.BlockHeading, 1, 0, r.title)
		}
		for _, p := range splitParagraphs(r.text) {
			if !rs.one.add(ingest.BlockParagraph, 0, 0, p) {
				break
			}
		}
		return
	}
	b := newBuilder(rs.e.opts.MaxText)
	b.doc.Key = r.key
	if b.doc.Key == "" {
		b.doc.Key = strconv.Itoa(r.line)
	}
	b.doc.Title = r.title
	if b.doc.Title == "" {
		b.doc.Title = strings.TrimSpace(baseTitle(rs.name) + " " + b.doc.Key)
	}
	b.doc.Metadata = r.meta
	for _, p := range splitParagraphs(r.text) {
		if !b.add(ingest.BlockParagraph, 0, 0, p) {
			break
		}
	}
	if len(b.doc.Blocks) == 0 {
		rs.total--
		rs.fail(r.line, ReasonEmpty, "the record has no text")
		return
	}
	rs.docs = append(rs.docs, b.doc)
}

// result returns the documents and, when some records failed, a
// *RecordErrors; when all failed, the first failure alone.
func (rs *recordSet) result(kind string) ([]ingest.Doc, error) {
	docs := rs.docs
	if rs.one != nil && len(rs.one.doc.Blocks) > 0 {
		rs.one.doc.Truncated = rs.one.doc.Truncated || rs.trunc
		docs = []ingest.Doc{rs.one.doc}
	} else if rs.trunc && len(docs) > 0 {
		docs[len(docs)-1].Truncated = true
	}
	switch {
	case len(docs) == 0 && len(rs.bad) > 0:
		first := rs.bad[0]
		code := ragd.EInvalid
		return nil, &Failure{Reason: first.Reason, Err: ragd.Errorf(code, "no %s record could be read (%s)", kind, (&RecordErrors{Records: rs.bad, Total: rs.total}).Error())}
	case len(docs) == 0:
		return nil, fail(ReasonEmpty, ragd.EInvalid, "the %s file has no records", kind)
	case len(rs.bad) > 0:
		return docs, &RecordErrors{Records: rs.bad, Total: rs.total}
	}
	return docs, nil
}

// csv extracts a CSV (or TSV) file: the header row names the columns, and
// each row becomes "column: value" lines (empty values left out), as a
// document of its own (Key: the "id" column, else the row number) or as a
// paragraph of one document.
func (e *Extractor) csv(f ingest.File) ([]ingest.Doc, error) {
	text := clean(decodeText(f.Data))
	delim := csvDelimiter(text[:min(len(text), sniffLen)], ext(f.Name), len(text) > sniffLen)
	if delim == 0 {
		delim = ','
	}
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = delim
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	header, err := r.Read()
	if err != nil {
		return nil, failWrap(ReasonParse, ragd.EInvalid, err, "the CSV header row could not be read")
	}
	cols, idCol, titleCol := csvColumns(header)
	rs := newRecordSet(e, f.Name)
	for row := 1; !rs.full(); row++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
				err = pe.Err
			}
			rs.fail(line, ReasonParse, "%v", err)
			continue
		}
		line, _ := r.FieldPos(0) // records are never empty
		if len(rec) != len(header) {
			rs.fail(line, ReasonParse, "the row has %d cells, the header %d", len(rec), len(header))
			continue
		}
		var b strings.Builder
		for i, v := range rec {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			name := fmt.Sprintf("column %d", i+1)
			if i < len(cols) {
				name = cols[i]
			}
			fmt.Fprintf(&b, "%s: %s\n", name, strings.ReplaceAll(v, "\n", " "))
		}
		rc := record{line: line, key: strconv.Itoa(row), text: b.String(), meta: map[string]any{"row": float64(row)}}
		if idCol >= 0 && idCol < len(rec) && squeezeLine(rec[idCol]) != "" {
			rc.key = squeezeLine(rec[idCol])
		}
		if titleCol >= 0 && titleCol < len(rec) {
			rc.title = squeezeLine(rec[titleCol])
		}
		if strings.TrimSpace(rc.text) == "" {
			rs.total++ // an empty row: nothing to index, nothing wrong
			continue
		}
		rs.add(rc)
	}
	return rs.result("CSV")
}

// csvColumns names the columns from the header row (empty or repeated
// names get their position) and finds the id and title columns.
func csvColumns(header []string) (cols []string, idCol, titleCol int) {
	idCol, titleCol = -1, -1
	seen := map[string]bool{}
	for i, h := range header {
		h = squeezeLine(h)
		if h == "" || seen[h] {
			h = fmt.Sprintf("column %d", i+1)
		}
		seen[h] = true
		cols = append(cols, h)
		switch strings.ToLower(h) {
		case "id", "_id":
			if idCol < 0 {
				idCol = i
			}
		case "title", "name":
			if titleCol < 0 {
				titleCol = i
			}
		}
	}
	return cols, idCol, titleCol
}

// jsonl extracts JSON Lines: each line is an object whose "text",
// "content" or "body" string is the text, "title" the title, "id" (or
// "_id") the Key, and whose other scalar fields (strings, numbers,
// booleans) are metadata. A line that is not such an object, or is nested
// deeper than Options.MaxDepth, fails alone.
func (e *Extractor) jsonl(f ingest.File) ([]ingest.Doc, error) {
	text := decodeText(f.Data)
	rs := newRecordSet(e, f.Name)
	line := 0
	for len(text) > 0 && !rs.full() {
		line++
		var l string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			l, text = text[:i], text[i+1:]
		} else {
			l, text = text, ""
		}
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if d := jsonDepth(l); d > e.opts.MaxDepth {
			rs.fail(line, ReasonTooDeep, "the record is nested deeper than %d levels", e.opts.MaxDepth)
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(l), &obj); err != nil || obj == nil {
			rs.fail(line, ReasonParse, "not a JSON object")
			continue
		}
		r, err := jsonRecord(obj, line)
		if err != "" {
			rs.fail(line, ReasonParse, "%s", err)
			continue
		}
		rs.add(r)
	}
	return rs.result("JSON Lines")
}

// jsonRecord picks the text, title, id and metadata of a JSON object.
func jsonRecord(obj map[string]any, line int) (record, string) {
	r := record{line: line, meta: map[string]any{}}
	textKey := ""
	for _, k := range []string{"text", "content", "body"} {
		if s, ok := obj[k].(string); ok && strings.TrimSpace(s) != "" {
			r.text, textKey = clean(s), k
			break
		}
	}
	if textKey == "" {
		return r, `the record has no "text", "content" or "body" string`
	}
	if s, ok := obj["title"].(string); ok {
		r.title = squeezeLine(s)
	}
	for _, k := range []string{"id", "_id"} {
		switch v := obj[k].(type) {
		case string:
			r.key = squeezeLine(v)
		case float64:
			if v == math.Trunc(v) && math.Abs(v) < 1e15 {
				r.key = strconv.FormatInt(int64(v), 10)
			} else {
				r.key = strconv.FormatFloat(v, 'g', -1, 64)
			}
		}
		if r.key != "" {
			break
		}
	}
	for k, v := range obj {
		if k == textKey || k == "title" || k == "id" || k == "_id" {
			continue
		}
		switch v := v.(type) {
		case string:
			if k = squeezeLine(k); k != "" {
				r.meta[k] = cutAt(clean(v), 1000)
			}
		case float64, bool:
			if k = squeezeLine(k); k != "" {
				r.meta[k] = v
			}
		}
	}
	if len(r.meta) == 0 {
		r.meta = nil
	}
	return r, ""
}

// jsonDepth returns the maximum nesting of arrays and objects in a JSON
// text, without parsing it (so a 10,000-deep line costs no recursion).
func jsonDepth(s string) int {
	depth, maxDepth := 0, 0
	inString, escape := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escape:
			escape = false
		case inString:
			switch c {
			case '\\':
				escape = true
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			maxDepth = max(maxDepth, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return maxDepth
}
