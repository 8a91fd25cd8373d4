package extract

import (
	"bytes"
	"fmt"
	"strings"

	"codeberg.org/readeck/go-readability/v2"
	"github.com/JohannesKaufmann/html-to-markdown/v2/converter"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/base"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/commonmark"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/strikethrough"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/table"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// maxHTMLNodes bounds the elements the readability pass looks at; a page
// with more is converted whole, without boilerplate scoring.
const maxHTMLNodes = 200_000

// html extracts the main content of an HTML page: readability finds it and
// drops navigation and boilerplate, html-to-markdown turns it into
// Markdown, and the Markdown extractor into blocks, so headings, lists and
// tables keep their structure. Scripts, styles and other non-text elements
// never become text. The title is the page's (og:title or <title>, as
// readability picks it); description, author, language and site name
// become metadata.
func (e *Extractor) html(f ingest.File) ([]ingest.Doc, error) {
	root, err := parseHTML(f.Data, f.ContentType)
	if err != nil {
		return nil, failWrap(ReasonParse, ragd.EInvalid, err, "the HTML could not be parsed")
	}
	pageTitle := htmlTitle(root)
	removeNonText(root)

	var content *html.Node
	var art readability.Article
	if countElements(root, maxHTMLNodes+1) <= maxHTMLNodes {
		p := readability.NewParser()
		p.MaxElemsToParse = maxHTMLNodes
		// ParseDocument changes the tree it is given; keep root intact for the
		// fallback.
		if a, err := p.ParseDocument(cloneTree(root), nil); err == nil && a.Node != nil {
			art = a
			content = a.Node
		}
	}
	body := findElement(root, atom.Body)
	if body == nil {
		body = root
	}
	// Readability gives up on short pages or picks a fragment of a page that
	// is not an article; then the whole body minus page chrome is better.
	if content == nil || 3*textLength(content) < textLength(body) && textLength(content) < 2000 {
		removeChrome(body, true)
		content = body
	} else {
		removeChrome(content, false)
	}
	md, err := htmlToMarkdown(content)
	if err != nil {
		return nil, failWrap(ReasonParse, ragd.EInvalid, err, "the HTML could not be converted")
	}
	docs, err := e.markdown(ingest.File{Name: f.Name, Data: md}, false)
	if err != nil {
		return nil, err
	}
	d := &docs[0]
	switch {
	case art.Title() != "":
		d.Title = squeezeLine(art.Title())
	case pageTitle != "":
		d.Title = pageTitle
	}
	meta := map[string]any{}
	for k, v := range map[string]string{
		"description": art.Excerpt(),
		"author":      art.Byline(),
		"language":    art.Language(),
		"site_name":   art.SiteName(),
	} {
		if v = squeezeLine(v); v != "" {
			meta[k] = v
		}
	}
	if t, err := art.PublishedTime(); err == nil && !t.IsZero() {
		meta["published"] = t.UTC().Format("2006-01-02T15:04:05Z07:00")
	}
	if len(meta) > 0 {
		d.Metadata = meta
	} else {
		d.Metadata = nil
	}
	return docs, nil
}

// parseHTML decodes data from its declared or sniffed charset and parses it.
func parseHTML(data []byte, contentType string) (*html.Node, error) {
	enc, name, _ := charset.DetermineEncoding(data, contentType)
	if name != "utf-8" && enc != nil {
		if dec, err := enc.NewDecoder().Bytes(data); err == nil {
			data = dec
		}
	} else {
		data = bytes.TrimPrefix(data, []byte{0xef, 0xbb, 0xbf})
	}
	return html.Parse(bytes.NewReader(data))
}

func htmlToMarkdown(n *html.Node) ([]byte, error) {
	conv := converter.NewConverter(converter.WithPlugins(
		base.NewBasePlugin(),
		commonmark.NewCommonmarkPlugin(commonmark.WithListEndComment(false)),
		table.NewTablePlugin(table.WithSkipEmptyRows(true)),
		strikethrough.NewStrikethroughPlugin(),
	))
	md, err := conv.ConvertNode(n)
	if err != nil {
		return nil, fmt.Errorf("html to markdown: %w", err)
	}
	return md, nil
}

// htmlTitle returns the og:title meta property, else the <title> text.
func htmlTitle(root *html.Node) string {
	var title, og string
	walk(root, func(n *html.Node) bool {
		if n.Type != html.ElementNode {
			return true
		}
		switch n.DataAtom {
		case atom.Title:
			if title == "" {
				title = squeezeLine(innerText(n))
			}
		case atom.Meta:
			if og == "" && (attr(n, "property") == "og:title" || attr(n, "name") == "og:title") {
				og = squeezeLine(attr(n, "content"))
			}
		case atom.Body:
			return false
		}
		return true
	})
	if og != "" {
		return og
	}
	return title
}

// removeNonText removes elements whose content is never text to read:
// scripts, styles, templates, embedded objects and form controls. MathML
// becomes its alternative text (usually LaTeX) when it has one.
func removeNonText(root *html.Node) {
	removeElements(root, func(n *html.Node) bool {
		switch n.DataAtom {
		case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Iframe, atom.Object,
			atom.Embed, atom.Svg, atom.Canvas, atom.Select, atom.Button, atom.Input, atom.Textarea:
			return true
		case atom.Math:
			if alt := strings.TrimSpace(attr(n, "alttext")); alt != "" && n.Parent != nil {
				n.Parent.InsertBefore(&html.Node{Type: html.TextNode, Data: alt}, n)
			}
			return true
		}
		return false
	})
}

// removeChrome removes navigation, sidebars, forms and hidden elements,
// and with headerFooter page headers and footers too (inside an article
// they hold its title and byline, so they stay there).
func removeChrome(root *html.Node, headerFooter bool) {
	removeElements(root, func(n *html.Node) bool {
		switch n.DataAtom {
		case atom.Nav, atom.Aside, atom.Form, atom.Dialog:
			return true
		case atom.Header, atom.Footer:
			return headerFooter
		}
		switch strings.ToLower(attr(n, "role")) {
		case "navigation", "complementary", "search":
			return true
		case "banner", "contentinfo":
			return headerFooter
		}
		return strings.EqualFold(attr(n, "aria-hidden"), "true") || hasAttr(n, "hidden")
	})
}

func removeElements(root *html.Node, drop func(*html.Node) bool) {
	var next *html.Node
	for c := root.FirstChild; c != nil; c = next {
		next = c.NextSibling
		if c.Type == html.ElementNode && drop(c) {
			root.RemoveChild(c)
			continue
		}
		removeElements(c, drop)
	}
}

// walk calls fn on n and its descendants in document order; fn returning
// false skips the node's children.
func walk(n *html.Node, fn func(*html.Node) bool) {
	if !fn(n) {
		return
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func findElement(root *html.Node, a atom.Atom) *html.Node {
	var found *html.Node
	walk(root, func(n *html.Node) bool {
		if found != nil {
			return false
		}
		if n.Type == html.ElementNode && n.DataAtom == a {
			found = n
			return false
		}
		return true
	})
	return found
}

func countElements(root *html.Node, limit int) int {
	count := 0
	walk(root, func(n *html.Node) bool {
		if n.Type == html.ElementNode {
			count++
		}
		return count < limit
	})
	return count
}

func cloneTree(n *html.Node) *html.Node {
	c := &html.Node{Type: n.Type, DataAtom: n.DataAtom, Data: n.Data, Namespace: n.Namespace,
		Attr: append([]html.Attribute(nil), n.Attr...)}
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		c.AppendChild(cloneTree(ch))
	}
	return c
}

func textLength(n *html.Node) int {
	total := 0
	walk(n, func(n *html.Node) bool {
		if n.Type == html.TextNode {
			total += len(strings.TrimSpace(n.Data))
		}
		return true
	})
	return total
}

func innerText(n *html.Node) string {
	var b strings.Builder
	walk(n, func(n *html.Node) bool {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		return true
	})
	return b.String()
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Namespace == "" && strings.EqualFold(a.Key, key) {
			return true
		}
	}
	return false
}
