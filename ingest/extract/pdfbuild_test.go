package extract_test

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strings"
	"testing"

	"github.com/ragd/ragd/ingest/extract/extracttest"
)

// stream returns a stream object with the given dictionary entries and
// data, deflated when deflate is set.
func stream(tb testing.TB, dict string, data []byte, deflate bool) string {
	tb.Helper()
	if deflate {
		var z bytes.Buffer
		w, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
		if _, err := w.Write(data); err != nil {
			tb.Fatal(err)
		}
		if err := w.Close(); err != nil {
			tb.Fatal(err)
		}
		data = z.Bytes()
		dict += " /Filter /FlateDecode"
	}
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data)
}

// textPDF builds a valid PDF whose pages show the given lines of text.
func textPDF(tb testing.TB, pages ...[]string) []byte {
	tb.Helper()
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", "", extracttest.Helvetica}
	var kids []string
	for _, lines := range pages {
		var content strings.Builder
		content.WriteString("BT /F1 12 Tf 72 720 Td 14 TL\n")
		for _, l := range lines {
			fmt.Fprintf(&content, "(%s) Tj T*\n", strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(l))
		}
		content.WriteString("ET")
		objs = append(objs, stream(tb, "", []byte(content.String()), false))
		contentRef := len(objs)
		objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", contentRef))
		kids = append(kids, fmt.Sprintf("%d 0 R", len(objs)))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids))
	return extracttest.PDF(objs...)
}
