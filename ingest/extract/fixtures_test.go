package extract_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/extract"
)

// manifestEntry is one row of ../shared/eval/docs/MANIFEST.json.
type manifestEntry struct {
	File      string `json:"file"`
	Expected  string `json:"expected_text_contains"`
	Encrypted string `json:"encrypted"`
}

func readManifest(tb testing.TB) (string, []manifestEntry) {
	tb.Helper()
	dir := evalDir(tb, "docs")
	data, err := os.ReadFile(filepath.Join(dir, "MANIFEST.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var entries []manifestEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		tb.Fatal(err)
	}
	if len(entries) != 35 {
		tb.Fatalf("MANIFEST.json has %d entries, want 35", len(entries))
	}
	return dir, entries
}

// normText is the text of docs as one string, whitespace collapsed and
// NFKC-normalized (ligatures such as U+FB00 "ﬀ" become letters), as the
// manifest's sentences were verified.
func normText(docs []ingest.Doc) string {
	var parts []string
	for _, d := range docs {
		for _, b := range d.Blocks {
			parts = append(parts, b.Text)
		}
	}
	return normSentence(strings.Join(parts, " "))
}

func normSentence(s string) string {
	return strings.Join(strings.Fields(norm.NFKC.String(s)), " ")
}

// Passwords of the fixtures encrypted with a real user password
// (MANIFEST.md): without them extraction must fail with a clear error.
var fixturePasswords = map[string]string{
	"pdf/sf-005-libreoffice-encrypted-pw-openpassword.pdf": "openpassword",
	"pdf/pdfminer-aes256-userpw-foo.pdf":                   "foo",
}

// The one fixture PDFium cannot extract as the manifest says: it returns
// the Arabic word of "حَبيبي habibi" in visual (reversed) order, as poppler
// does, plus glyph garbage from the font's ToUnicode map. The test pins
// exactly that, so a PDFium that gets it right shows up as a failure to
// update.
const arabicFixture = "pdf/sf-015-weasyprint-arabic-rtl.pdf"

// TestManifestFixtures extracts every fixture of ../shared/eval/docs:
// each yields its sentence, the encrypted ones behave as the manifest says.
func TestManifestFixtures(t *testing.T) {
	dir, entries := readManifest(t)
	plain := extract.New(extract.Options{CacheDir: testCacheDir})
	defer plain.Close()
	var passwords []string
	for _, pw := range fixturePasswords {
		passwords = append(passwords, pw)
	}
	withPasswords := extract.New(extract.Options{CacheDir: testCacheDir, Passwords: passwords})
	defer withPasswords.Close()
	ctx := context.Background()
	for _, m := range entries {
		t.Run(m.File, func(t *testing.T) {
			if strings.HasPrefix(m.File, "pdf/") {
				needPDFEngine(t)
			}
			data, err := os.ReadFile(filepath.Join(dir, m.File))
			if err != nil {
				t.Fatal(err)
			}
			f := ingest.File{Name: filepath.Base(m.File), Data: data}
			docs, err := plain.Extract(ctx, f)
			if _, ok := fixturePasswords[m.File]; ok {
				if ragd.ErrorCode(err) != ragd.EInvalid || extract.Reason(err) != extract.ReasonPasswordRequired ||
					!strings.Contains(ragd.ErrorMessage(err), "password is required") {
					t.Fatalf("without its password: %v (reason %q), want invalid/password_required", err, extract.Reason(err))
				}
				if docs, err = withPasswords.Extract(ctx, f); err != nil {
					t.Fatalf("with its password: %v", err)
				}
			} else if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			text := normText(docs)
			if m.File == arabicFixture {
				for _, want := range []string{"habibi", "يبيبَح"} {
					if !strings.Contains(text, normSentence(want)) {
						t.Errorf("Arabic fixture: %q missing from %q", want, text)
					}
				}
				if strings.Contains(text, normSentence("حَبيبي")) {
					t.Errorf("Arabic fixture now comes out in logical order (%q): make it a normal fixture", text)
				}
				return
			}
			if !strings.Contains(text, normSentence(m.Expected)) {
				t.Errorf("sentence %q not in extracted text:\n%s", m.Expected, text)
			}
			for _, d := range docs {
				if d.Title == "" {
					t.Errorf("no title")
				}
				if strings.HasPrefix(m.File, "pdf/") {
					for _, b := range d.Blocks {
						if b.Page < 1 {
							t.Errorf("PDF block without page: %+v", b)
						}
					}
					if d.Metadata["pages"] == nil {
						t.Errorf("no page count in metadata %v", d.Metadata)
					}
				}
			}
		})
	}
}
