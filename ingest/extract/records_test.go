package extract_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/extract"
)

func TestCSV(t *testing.T) {
	data := "id,name,city,notes\n7,Ann,Paris,\"likes \"\"quotes\"\"\"\n,Bob,Oslo,\n\n9,Eve,\"Ro\nme\",x\n"
	ctx := context.Background()

	one, err := extract.New(extract.Options{}).Extract(ctx, ingest.File{Name: "people.csv", Data: []byte(data)})
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != 1 || one[0].Title != "people" || one[0].ContentType != extract.TypeCSV {
		t.Fatalf("one document: %+v", one)
	}
	// Each row: its name (the title column) as a heading, then its cells.
	var got []string
	for _, b := range one[0].Blocks {
		got = append(got, b.Kind+":"+b.Text)
	}
	want := []string{
		"heading:Ann", "paragraph:id: 7\nname: Ann\ncity: Paris\nnotes: likes \"quotes\"",
		"heading:Bob", "paragraph:name: Bob\ncity: Oslo",
		"heading:Eve", "paragraph:id: 9\nname: Eve\ncity: Ro me\nnotes: x",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("blocks:\n%q\nwant\n%q", got, want)
	}

	rows, err := extract.New(extract.Options{RowsAsDocuments: true}).Extract(ctx, ingest.File{Name: "people.csv", Data: []byte(data)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, d := range rows {
		keys = append(keys, d.Key+"="+d.Title)
	}
	// Key: the id column, else the row number.
	if strings.Join(keys, ",") != "7=Ann,2=Bob,9=Eve" {
		t.Errorf("keys = %v", keys)
	}
	if rows[1].Metadata["row"] != float64(2) {
		t.Errorf("metadata = %v", rows[1].Metadata)
	}
}

func TestCSVBadRows(t *testing.T) {
	// Stray quotes are kept; a row with more or fewer cells than the
	// header fails, and so does an id that an earlier row already has (two
	// documents cannot share a key).
	data := "id;text\n1;one\n2;x\"y\n1;again\n3;three;extra\n4;four\n5;five\n6;six\n7;seven\n"
	docs, err := extract.New(extract.Options{RowsAsDocuments: true}).Extract(context.Background(), ingest.File{Name: "t.csv", Data: []byte(data)})
	var re *extract.RecordErrors
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want *RecordErrors", err)
	}
	if len(re.Records) != 2 || re.Total != 8 ||
		re.Records[0].Line != 4 || !strings.Contains(re.Records[0].Message, "line 2") ||
		re.Records[1].Line != 5 || re.Records[1].Message != "the row has 3 cells, the header 2" {
		t.Errorf("record errors = %+v", re)
	}
	var texts []string
	for _, d := range docs {
		texts = append(texts, d.Key+"="+d.Blocks[0].Text)
	}
	if got := strings.Join(texts, "|"); got != "1=id: 1\ntext: one|2=id: 2\ntext: x\"y|4=id: 4\ntext: four|5=id: 5\ntext: five|6=id: 6\ntext: six|7=id: 7\ntext: seven" {
		t.Errorf("docs = %q", got)
	}
}

// TestJSONL also covers RELIABILITY.md H-7: a line nested 10,001 deep
// fails alone ("too_deep") and the other lines are extracted.
func TestJSONL(t *testing.T) {
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	data := strings.Join([]string{
		`{"id": "a1", "title": "First", "text": "Alpha text.", "lang": "en", "n": 3, "ok": true, "tags": ["x"], "nested": {"k": 1}}`,
		`not json`,
		``,
		`{"id": 2, "content": "Beta content."}`,
		`{"body": "Gamma body.", "x": ` + deep + `}`,
		`{"title": "no text"}`,
		`{"id": "a1", "text": "same id again"}`,
		`{"body": "Delta body."}`,
	}, "\n")
	docs, err := extract.New(extract.Options{RowsAsDocuments: true}).Extract(context.Background(), ingest.File{Name: "c.jsonl", Data: []byte(data)})
	var re *extract.RecordErrors
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want *RecordErrors", err)
	}
	if ragd.ErrorCode(err) != ragd.EInvalid {
		t.Errorf("code = %s", ragd.ErrorCode(err))
	}
	var got []string
	for _, d := range docs {
		got = append(got, d.Key+"|"+d.Title+"|"+d.Blocks[0].Text)
	}
	want := []string{"a1|First|Alpha text.", "2|c 2|Beta content.", "8|c 8|Delta body."}
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("docs = %q, want %q", got, want)
	}
	if m := docs[0].Metadata; len(m) != 3 || m["lang"] != "en" || m["n"] != float64(3) || m["ok"] != true {
		t.Errorf("metadata = %v (scalars only)", m)
	}
	var bad []string
	for _, r := range re.Records {
		bad = append(bad, r.Reason+"@"+string(rune('0'+r.Line)))
	}
	if strings.Join(bad, ",") != "parse_error@2,too_deep@5,parse_error@6,parse_error@7" || re.Total != 7 {
		t.Errorf("record errors = %v, total %d; %v", bad, re.Total, re)
	}
	if !strings.Contains(err.Error(), "4 of 7 records failed; line 2: not a JSON object") {
		t.Errorf("message = %q", err.Error())
	}

	// Every line bad: a plain failure, no documents.
	docs, err = extract.New(extract.Options{}).Extract(context.Background(), ingest.File{Name: "c.jsonl", Data: []byte("{\"a\": 1}\n{\"b\": 2}\n")})
	if len(docs) != 0 || ragd.ErrorCode(err) != ragd.EInvalid || extract.Reason(err) != extract.ReasonParse {
		t.Errorf("all bad: %d docs, %v", len(docs), err)
	}
	var re2 *extract.RecordErrors
	if errors.As(err, &re2) {
		t.Errorf("all bad: got *RecordErrors, want a plain failure")
	}
}
