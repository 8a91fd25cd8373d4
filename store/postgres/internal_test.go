package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ragd/ragd"
)

func TestPgvectorVersionFloor(t *testing.T) {
	for _, tc := range []struct {
		version string
		ok      bool
	}{
		{"0.5.1", false}, {"0.8.0", false}, {"0.8.1", false}, {"0.8.2", true}, {"0.8.7", true},
		{"0.9.0", true}, {"0.10.0", true}, {"1.0", true}, {"0.8.10", true}, {"0.8.2-dev", true},
	} {
		err := checkPgvectorVersion(tc.version)
		if (err == nil) != tc.ok {
			t.Errorf("checkPgvectorVersion(%q) = %v, want ok %v", tc.version, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "CVE-2026-3172") {
			t.Errorf("refusal of pgvector %s does not name CVE-2026-3172: %v", tc.version, err)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code string
	}{
		{pgx.ErrNoRows, ragd.ENotFound},
		{&pgconn.PgError{Code: "23505"}, ragd.EConflict},
		{&pgconn.PgError{Code: "23503"}, ragd.ENotFound},
		{&pgconn.PgError{Code: "08006"}, ragd.EUnavailable},
		{&pgconn.PgError{Code: "57P01"}, ragd.EUnavailable},
		{&pgconn.PgError{Code: "53300"}, ragd.EUnavailable},
		{&pgconn.PgError{Code: "40001"}, ragd.EUnavailable},
		{&pgconn.PgError{Code: "42P01"}, ragd.EInternal},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), ragd.EUnavailable},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, ragd.EUnavailable},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), ragd.EUnavailable},
		{errors.New("conn closed"), ragd.EUnavailable},
		{errors.New("something else"), ragd.EInternal},
	} {
		e := classify(tc.err, time.Second)
		if e.Code != tc.code {
			t.Errorf("classify(%v) = %s, want %s", tc.err, e.Code, tc.code)
		}
		if e.Code == ragd.EUnavailable && e.RetryAfter != time.Second && !errors.Is(tc.err, context.Canceled) {
			t.Errorf("classify(%v): RetryAfter %v, want 1s", tc.err, e.RetryAfter)
		}
		if !errors.Is(e, tc.err) {
			t.Errorf("classify(%v) lost the cause", tc.err)
		}
		if strings.Contains(ragd.ErrorMessage(e), "SQLSTATE") {
			t.Errorf("classify(%v): message %q exposes database details", tc.err, ragd.ErrorMessage(e))
		}
	}
}

// TestFilterSQLMatchesMatch runs random filters over chunks with random
// metadata in SQL and compares the chunks selected with
// (*ragd.Filter).Match, the definition every store follows.
func TestFilterSQLMatchesMatch(t *testing.T) {
	db := openInternal(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 11))
	if _, err := db.CreateCollection(ctx, ragd.Collection{Name: "f"}); err != nil {
		t.Fatal(err)
	}
	values := []any{"a", "b", "1", 1.0, 2.0, 2.5, true, false, "true", -0.0}
	randValue := func() any {
		switch r.IntN(8) {
		case 0:
			return []any{values[r.IntN(len(values))], values[r.IntN(len(values))]}
		case 1:
			return map[string]any{"x": values[r.IntN(len(values))]}
		case 2:
			return []any{[]any{values[r.IntN(len(values))]}}
		case 3:
			return nil
		}
		return values[r.IntN(len(values))]
	}
	keys := []string{"k1", "k2", "k3"}
	var chunks []ragd.Chunk
	metas := map[string]map[string]any{}
	for i := range 300 {
		m := map[string]any{}
		for _, k := range keys {
			if r.IntN(4) > 0 {
				m[k] = randValue()
			}
		}
		id := fmt.Sprintf("c%03d", i)
		// As stored: a JSON round trip.
		b, _ := json.Marshal(m)
		var rt map[string]any
		_ = json.Unmarshal(b, &rt)
		metas[id] = rt
		chunks = append(chunks, ragd.Chunk{ID: id, Index: i, Text: "t", Metadata: m})
	}
	if err := db.PutDocument(ctx, ragd.Document{ID: "d", Collection: "f"}, chunks); err != nil {
		t.Fatal(err)
	}
	var randFilter func(depth int) ragd.Filter
	randFilter = func(depth int) ragd.Filter {
		if depth < 2 && r.IntN(3) == 0 {
			f := ragd.Filter{Op: ragd.OpAnd}
			if r.IntN(2) == 0 {
				f.Op = ragd.OpOr
			}
			for range 1 + r.IntN(3) {
				f.Children = append(f.Children, randFilter(depth+1))
			}
			return f
		}
		f := ragd.Filter{Op: ragd.OpEq, Key: keys[r.IntN(len(keys))], Values: []any{values[r.IntN(len(values))]}}
		if r.IntN(2) == 0 {
			f.Op = ragd.OpIn
			f.Values = append(f.Values, values[r.IntN(len(values))])
		}
		return f
	}
	for range 200 {
		f := randFilter(0)
		var a args
		collParam := a.add(int64(0))
		where, err := filterSQL(&f, "c.metadata", &a)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.pool.Query(ctx, db.sql(`SELECT c.chunk_id FROM {schema}.chunks c JOIN {schema}.collections k ON k.id = c.collection_id
			WHERE k.name = 'f' AND `+collParam+`::bigint = 0 AND `+where+` ORDER BY c.chunk_id`), a...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for i := range 300 {
			id := fmt.Sprintf("c%03d", i)
			if f.Match(metas[id]) {
				want = append(want, id)
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			fj, _ := json.Marshal(f)
			t.Errorf("filter %s: SQL selects %d chunks, Match %d\nSQL:   %v\nMatch: %v", fj, len(got), len(want), got, want)
		}
	}
}

func FuzzCleanString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\x00b", "\xff\xfe", "\x00\xff\x00", "é\x00\u0000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := cleanString(s)
		if strings.IndexByte(c, 0) >= 0 || !utf8.ValidString(c) {
			t.Fatalf("cleanString(%q) = %q: still has NUL or invalid UTF-8", s, c)
		}
		if cleanString(c) != c {
			t.Fatalf("cleanString is not idempotent on %q", s)
		}
		if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 && c != s {
			t.Fatalf("cleanString changed clean text %q to %q", s, c)
		}
	})
}

// FuzzEncodeMetadata: any JSON object decodes to metadata that encodes to
// JSON that PostgreSQL's jsonb accepts (no \u0000 escape) and that decodes
// to the same shape.
func FuzzEncodeMetadata(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a\u0000":"b\u0000c","n":{"x":["\u0000",1.5,true,null]}}`, `{"k":"\\u0000"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var m map[string]any
		if json.Unmarshal([]byte(in), &m) != nil || m == nil {
			return
		}
		out, err := encodeMetadata(m)
		if err != nil {
			t.Fatalf("encodeMetadata(%s): %v", in, err)
		}
		if strings.Contains(strings.ReplaceAll(*out, `\\`, ``), `\u0000`) {
			t.Fatalf("encodeMetadata(%s) = %s: still has a NUL escape", in, *out)
		}
		back, err := decodeMetadata([]byte(*out))
		if err != nil {
			t.Fatalf("encodeMetadata(%s) = %s: not JSON: %v", in, *out, err)
		}
		if len(back) > len(m) {
			t.Fatalf("encodeMetadata(%s) = %s: more keys than given", in, *out)
		}
	})
}
