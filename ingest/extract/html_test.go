package extract_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/extract"
)

func docText(d ingest.Doc) string {
	var b strings.Builder
	for _, blk := range d.Blocks {
		b.WriteString(blk.Text)
		b.WriteString("\n\n")
	}
	return b.String()
}

const articlePage = `<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Fallback title | Example Site</title>
<meta property="og:title" content="Growing tomatoes in small gardens">
<style>body { color: SECRET-STYLE; }</style>
<script>var token = "SECRET-SCRIPT";</script>
</head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/shop">Shop NAVLINK</a></li></ul></nav></header>
<aside class="sidebar">Subscribe to our newsletter SIDEBAR</aside>
<main><article>
<h1>Growing tomatoes in small gardens</h1>
<p>Tomatoes need at least six hours of direct sunlight every day, which makes a south-facing balcony the best spot in a small garden. Choose compact varieties that were bred for containers.</p>
<p>Water deeply but not too often: the soil should dry out a little between waterings so that the roots grow down instead of staying near the surface. Mulch keeps the moisture in during hot weeks.</p>
<h2>Choosing containers</h2>
<p>A pot of at least twenty litres gives one plant enough room. Terracotta dries out faster than plastic, so plants in clay pots need water more often in July and August.</p>
<ul><li>Cherry tomatoes for hanging baskets</li><li>Bush tomatoes for pots</li></ul>
<table><tr><th>Variety</th><th>Days</th></tr><tr><td>Tiny Tim</td><td>55</td></tr></table>
<script>document.write("SECRET-INLINE-SCRIPT")</script>
<noscript>SECRET-NOSCRIPT</noscript>
<p>Harvest when the fruit is fully coloured and gives slightly under a gentle squeeze; ripe tomatoes keep best at room temperature, never in the refrigerator.</p>
</article></main>
<footer>Copyright FOOTER 2024</footer>
</body></html>`

func TestHTMLMainContent(t *testing.T) {
	e := extract.New(extract.Options{})
	d := mustExtract(t, e, "page.txt", []byte(articlePage)) // named .txt: sniffed as HTML (H-12)
	if d.ContentType != extract.TypeHTML {
		t.Fatalf("ContentType = %q", d.ContentType)
	}
	if d.Title != "Growing tomatoes in small gardens" {
		t.Errorf("Title = %q, want the og:title", d.Title)
	}
	text := docText(d)
	for _, want := range []string{"six hours of direct sunlight", "Terracotta dries out faster", "Harvest when the fruit", "Tiny Tim | 55", "Cherry tomatoes"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	for _, bad := range []string{"SECRET", "NAVLINK", "SIDEBAR", "FOOTER"} {
		if strings.Contains(text, bad) {
			t.Errorf("boilerplate or script text %q in:\n%s", bad, text)
		}
	}
	var kinds []string
	for _, b := range d.Blocks {
		kinds = append(kinds, b.Kind)
	}
	for _, k := range []string{ingest.BlockHeading, ingest.BlockList, ingest.BlockTable} {
		if !strings.Contains(strings.Join(kinds, " "), k) {
			t.Errorf("no %s block: %v", k, kinds)
		}
	}
}

func TestHTMLShortPage(t *testing.T) {
	// Too short for readability: the body without chrome is used.
	page := `<html><head><title>Opening hours</title><script>alert("SECRET")</script></head>
<body><nav>Menu NAVLINK</nav><p>Open Monday to Friday, 9 to 17.</p><style>p{}</style></body></html>`
	e := extract.New(extract.Options{})
	d := mustExtract(t, e, "hours.html", []byte(page))
	if d.Title != "Opening hours" {
		t.Errorf("Title = %q, want the <title>", d.Title)
	}
	text := docText(d)
	if !strings.Contains(text, "Open Monday to Friday, 9 to 17.") || strings.Contains(text, "SECRET") || strings.Contains(text, "NAVLINK") || strings.Contains(text, "p{}") {
		t.Errorf("text:\n%s", text)
	}
}

func TestHTMLCharset(t *testing.T) {
	page := []byte("<html><head><meta charset=\"windows-1252\"><title>Caf\xe9</title></head><body><p>Cr\xe8me br\xfbl\xe9e \x96 \x93quoted\x94.</p></body></html>")
	e := extract.New(extract.Options{})
	d := mustExtract(t, e, "cafe.html", page)
	if d.Title != "Café" || !strings.Contains(docText(d), "Crème brûlée – “quoted”.") {
		t.Errorf("Title %q, text %q", d.Title, docText(d))
	}
}

// TestHTMLReadabilityFixtures compares with Readability.js's expected
// output for the two Wikipedia pages: the article's opening sentence is
// there, and the navigation and sidebar text of the page is not.
func TestHTMLReadabilityFixtures(t *testing.T) {
	dir := evalDir(t, "docs", "html")
	e := extract.New(extract.Options{})
	for _, tc := range []struct {
		dir, sentence string
		absent        []string
	}{
		{"readability-wikipedia", "Mozilla is a free-software community, created in 1998 by members of Netscape.",
			[]string{"Personal tools", "Jump to navigation", "What links here"}},
		{"readability-wikipedia-3", "In mathematics, a Hermitian matrix (or self-adjoint matrix) is a complex square matrix that is equal to its own conjugate transpose",
			[]string{"Personal tools", "What links here", "Create account"}},
	} {
		data, err := os.ReadFile(filepath.Join(dir, tc.dir, "source.html"))
		if err != nil {
			t.Fatal(err)
		}
		d := mustExtract(t, e, "source.html", data)
		text := docText(d)
		if !strings.Contains(strings.Join(strings.Fields(text), " "), tc.sentence) {
			t.Errorf("%s: sentence missing", tc.dir)
		}
		for _, a := range tc.absent {
			if strings.Contains(text, a) {
				t.Errorf("%s: boilerplate %q kept", tc.dir, a)
			}
		}
		if !strings.Contains(d.Title, strings.Fields(tc.sentence)[0]) && !strings.Contains(d.Title, "matrix") {
			t.Errorf("%s: title %q", tc.dir, d.Title)
		}
	}
}
