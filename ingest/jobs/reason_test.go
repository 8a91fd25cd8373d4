package jobs_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/extract"
	"github.com/ragd/ragd/ingest/jobs"
)

// TestExtractionReasons checks that an item whose extraction failed
// records the extraction's reason (RELIABILITY.md H-5, H-7, S-PT-3:
// "failed:decompressed_too_large", "failed:too_deep", "failed:unsafe_path"),
// not only the error code, while types ragd cannot extract keep
// "unsupported_media_type".
func TestExtractionReasons(t *testing.T) {
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for name, body := range map[string]string{
		"[Content_Types].xml": `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`,
		"word/document.xml":   `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>`,
		"../../x":             "owned",
	} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)

	base := t.TempDir()
	docs := filepath.Join(base, "docs")
	mustWrite(t, filepath.Join(docs, "slip.docx"), zb.String())
	mustWrite(t, filepath.Join(docs, "deep.jsonl"), `{"text": "fine"}`+"\n"+`{"text": "x", "d": `+deep+"}\n")
	mustWrite(t, filepath.Join(docs, "elf.pdf"), "\x7fELF\x02\x01\x01\x00"+strings.Repeat("\x00", 64))
	mustWrite(t, filepath.Join(docs, "ok.txt"), "plain words")

	// The fake ingester extracts for real and fails as ingest.Service
	// does: the extraction error wrapped.
	e := extract.New(extract.Options{})
	ing := newFakeIngester("")
	ing.hook = func(ctx context.Context, f ingest.File, call int) error {
		if _, err := e.Extract(ctx, f); err != nil {
			return fmt.Errorf("extract %q: %w", f.Name, err)
		}
		return nil
	}
	cfg := testConfig(mustBolt(t, filepath.Join(t.TempDir(), "jobs.db")), ing)
	cfg.Roots = mustRoots(t, docs)
	m := startManager(t, cfg)
	j, err := m.Submit(context.Background(), jobs.Spec{Collection: "kb", Sources: []jobs.Source{{Path: "docs"}}})
	if err != nil {
		t.Fatal(err)
	}
	waitEnd(t, m, j.ID)
	want := map[string]string{
		"docs/slip.docx":  "failed:unsafe_path",
		"docs/deep.jsonl": "failed:too_deep",
		"docs/elf.pdf":    "skipped:unsupported_media_type",
		"docs/ok.txt":     "indexed",
	}
	if diff := cmp.Diff(want, outcomes(t, m, j.ID)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}
