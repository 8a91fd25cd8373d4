// Package extracttest builds the minimal and hostile files that the extract
// package's tests and ragd's end-to-end tests feed to extraction: PDFs
// written object by object, and deflate streams that expand to gigabytes.
package extracttest

import (
	"bytes"
	"compress/flate"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"strconv"
)

// Helvetica is a PDF font object: Type 1 Helvetica, one of the standard
// fonts a reader needs no font program for.
const Helvetica = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"

// PDF returns a PDF with the given objects (numbered from 1, the first the
// catalog) and a correct cross-reference table.
func PDF(objects ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

// FlatePagePDF returns a one-page PDF whose content stream is z, zlib data
// (FlateDecode), with Helvetica as its font /F1.
func FlatePagePDF(z []byte) []byte {
	return PDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [4 0 R] /Count 1 >>", Helvetica,
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
		"<< /Length "+strconv.Itoa(len(z))+" /Filter /FlateDecode >>\nstream\n"+string(z)+"\nendstream")
}

// DeflateRepeated returns piece repeated n times, deflated, quickly: the
// piece is deflated once as a flushed, non-final block and that block
// repeated (its back-references stay inside the repeated data), then a
// final empty block ends the stream. crc is the CRC-32 of the whole.
func DeflateRepeated(piece []byte, n int) (data []byte, crc uint32) {
	var blk bytes.Buffer
	w, _ := flate.NewWriter(&blk, flate.BestCompression)
	w.Write(piece)
	w.Flush()
	var out bytes.Buffer
	for range n {
		out.Write(blk.Bytes())
		crc = crc32.Update(crc, crc32.IEEETable, piece)
	}
	out.Write([]byte{0x03, 0x00}) // final, fixed-Huffman block holding only end-of-block
	return out.Bytes(), crc
}

// ZlibRepeated is DeflateRepeated in a zlib wrapper (PDF's FlateDecode).
func ZlibRepeated(piece []byte, n int) []byte {
	data, _ := DeflateRepeated(piece, n)
	sum := adler32.New()
	for range n {
		sum.Write(piece)
	}
	return sum.Sum(append([]byte{0x78, 0xda}, data...))
}
