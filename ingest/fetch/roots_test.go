package fetch_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest/fetch"
)

const canary = "OUTSIDE-CANARY-7f3a"

// hostileTree builds a root "docs" next to a directory "outside" holding a
// canary, with every kind of escape RELIABILITY.md S-PT-2 lists. It returns
// the parent directory and whether a device node could be made.
func hostileTree(t *testing.T) (string, bool) {
	t.Helper()
	// A short path: unix socket names are limited to 108 bytes.
	base, err := os.MkdirTemp("", "pt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	outside := filepath.Join(base, "outside")
	docs := filepath.Join(base, "docs")
	mustMkdir(t, outside, docs, filepath.Join(docs, "sub", "deeper"), filepath.Join(docs, ".hidden"))
	mustWrite(t, filepath.Join(outside, "secret.txt"), canary)
	mustWrite(t, filepath.Join(docs, "a.md"), "# A\nalpha")
	mustWrite(t, filepath.Join(docs, "sub", "b.txt"), "beta")
	mustWrite(t, filepath.Join(docs, "sub", "deeper", "c.txt"), "gamma")
	mustWrite(t, filepath.Join(docs, ".hidden", "h.txt"), "hidden")
	mustWrite(t, filepath.Join(docs, "big.bin"), strings.Repeat("z", 2000))
	links := map[string]string{
		"abs":           filepath.Join(outside, "secret.txt"),
		"rel":           "../outside/secret.txt",
		"reldir":        "../outside",
		"proc":          "/proc/self/environ",
		"absinside":     filepath.Join(docs, "a.md"), // absolute links are refused even inside
		"loop":          "loop",
		"loopa":         "loopb",
		"loopb":         "loopa",
		"selfdir":       ".",
		"sub/up":        "..",
		"sub/sneaky":    "../../outside/secret.txt",
		"good":          "a.md",
		"gooddir":       "sub/deeper",
		"dangling":      "missing.txt",
		"sub/deeper/tw": "../../sub/../../outside",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(docs, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(docs, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(docs, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	dev := syscall.Mknod(filepath.Join(docs, "devnull"), syscall.S_IFCHR|0o666, 1<<8|3) == nil
	return base, dev
}

func mustMkdir(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func mustWrite(t *testing.T, name, data string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustRoots(t *testing.T, cfg fetch.RootsConfig) *fetch.Roots {
	t.Helper()
	r, err := fetch.NewRoots(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func walkAll(t *testing.T, r *fetch.Roots, p string, opt fetch.WalkOptions) []fetch.Entry {
	t.Helper()
	var got []fetch.Entry
	err := r.Walk(context.Background(), p, opt, func(e fetch.Entry) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatalf("Walk(%s): %v", p, err)
	}
	return got
}

// TestWalkRefusesEscapes covers S-PT-2: every escape is listed as
// path_escape, special files as not_regular, nothing blocks, and no byte of
// the outside canary is ever returned.
func TestWalkRefusesEscapes(t *testing.T) {
	base, dev := hostileTree(t)
	r := mustRoots(t, fetch.RootsConfig{Paths: []string{filepath.Join(base, "docs")}, MaxFileBytes: 1000})

	done := make(chan []fetch.Entry)
	go func() { done <- walkAll(t, r, "docs", fetch.WalkOptions{}) }()
	var got []fetch.Entry
	select {
	case got = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("walk blocked")
	}

	want := []fetch.Entry{
		{Key: "docs/a.md", Size: 9},
		{Key: "docs/abs", Skip: fetch.ReasonPathEscape},
		{Key: "docs/absinside", Skip: fetch.ReasonPathEscape},
		{Key: "docs/big.bin", Size: 2000, Skip: fetch.ReasonTooLarge},
		{Key: "docs/dangling", Skip: fetch.ReasonNotFound},
		{Key: "docs/devnull", Skip: fetch.ReasonNotRegular},
		{Key: "docs/fifo", Skip: fetch.ReasonNotRegular},
		{Key: "docs/good", Size: 9},
		{Key: "docs/gooddir/c.txt", Size: 5},
		{Key: "docs/gooddir/tw", Skip: fetch.ReasonPathEscape},
		{Key: "docs/loop", Skip: fetch.ReasonPathEscape},
		{Key: "docs/loopa", Skip: fetch.ReasonPathEscape},
		{Key: "docs/loopb", Skip: fetch.ReasonPathEscape},
		{Key: "docs/proc", Skip: fetch.ReasonPathEscape},
		{Key: "docs/rel", Skip: fetch.ReasonPathEscape},
		{Key: "docs/reldir", Skip: fetch.ReasonPathEscape},
		{Key: "docs/selfdir", Skip: fetch.ReasonPathEscape},
		{Key: "docs/sock", Skip: fetch.ReasonNotRegular},
		{Key: "docs/sub/b.txt", Size: 4},
		{Key: "docs/sub/deeper/c.txt", Size: 5},
		{Key: "docs/sub/deeper/tw", Skip: fetch.ReasonPathEscape},
		{Key: "docs/sub/sneaky", Skip: fetch.ReasonPathEscape},
		{Key: "docs/sub/up", Skip: fetch.ReasonPathEscape},
	}
	if !dev {
		t.Log("mknod not permitted here; the device case is not exercised")
		want = append(want[:5], want[6:]...)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("walk entries (-want +got):\n%s", diff)
	}

	// Every listed file reads, and none of them holds the canary; every
	// refused entry stays refused when read directly.
	for _, e := range got {
		data, err := readWithin(t, r, e.Key)
		if bytes.Contains(data, []byte(canary)) {
			t.Fatalf("%s: read the outside canary", e.Key)
		}
		switch {
		case e.Skip == "" && err != nil:
			t.Errorf("ReadFile(%s): %v", e.Key, err)
		case e.Skip != "" && err == nil:
			t.Errorf("ReadFile(%s) succeeded, want %s", e.Key, e.Skip)
		case e.Skip == fetch.ReasonPathEscape && fetch.Reason(err) == fetch.ReasonNotRegular:
			// A directory loop: read directly, it is a directory.
		case e.Skip != "" && fetch.Reason(err) != e.Skip:
			t.Errorf("ReadFile(%s) reason %q, want %q", e.Key, fetch.Reason(err), e.Skip)
		}
	}
}

// readWithin reads key and fails the test if the read blocks.
func readWithin(t *testing.T, r *fetch.Roots, key string) ([]byte, error) {
	t.Helper()
	type result struct {
		data []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		d, err := r.ReadFile(context.Background(), key)
		ch <- result{d, err}
	}()
	select {
	case res := <-ch:
		return res.data, res.err
	case <-time.After(5 * time.Second):
		t.Fatalf("ReadFile(%s) blocked", key)
		return nil, nil
	}
}

func TestSourcePathsOutsideRoots(t *testing.T) {
	base, _ := hostileTree(t)
	docs := filepath.Join(base, "docs")
	r := mustRoots(t, fetch.RootsConfig{Paths: []string{docs}})
	for _, p := range []string{
		"docs/../outside",
		"docs/sub/../../outside/secret.txt",
		"../outside/secret.txt",
		filepath.Join(base, "outside"),
		docs + "/../outside/secret.txt",
		"/etc/passwd",
		"outside/secret.txt",
		"docs/rel",
		"docs/reldir",
		"docs/proc",
		"docs/loop",
		"docs/\x00",
		"",
	} {
		err := r.Walk(context.Background(), p, fetch.WalkOptions{}, func(e fetch.Entry) error {
			t.Errorf("Walk(%q) produced %+v", p, e)
			return nil
		})
		if fetch.Reason(err) != fetch.ReasonPathEscape || ragd.ErrorCode(err) != ragd.EForbidden {
			t.Errorf("Walk(%q) = %v, want a path_escape refusal", p, err)
		}
		if _, err := r.ReadFile(context.Background(), p); fetch.Reason(err) != fetch.ReasonPathEscape && fetch.Reason(err) != fetch.ReasonNotRegular {
			t.Errorf("ReadFile(%q) = %v, want a refusal", p, err)
		}
	}

	// Paths are cleaned lexically first: this one names docs/outside,
	// which does not exist, whatever sub/up points at.
	for _, p := range []string{"docs/nope", "docs/sub/up/../../outside"} {
		err := r.Walk(context.Background(), p, fetch.WalkOptions{}, func(fetch.Entry) error { return nil })
		if ragd.ErrorCode(err) != ragd.ENotFound || fetch.Reason(err) != fetch.ReasonNotFound {
			t.Errorf("Walk(%q) = %v, want not_found", p, err)
		}
	}
}

func TestWalkForms(t *testing.T) {
	base, _ := hostileTree(t)
	docs := filepath.Join(base, "docs")
	r := mustRoots(t, fetch.RootsConfig{Paths: []string{docs}})

	// An absolute path and the root-name form give the same keys.
	abs := walkAll(t, r, filepath.Join(docs, "sub"), fetch.WalkOptions{})
	named := walkAll(t, r, "docs/sub", fetch.WalkOptions{})
	if diff := cmp.Diff(named, abs); diff != "" {
		t.Errorf("absolute vs named (-named +abs):\n%s", diff)
	}
	// A single file.
	one := walkAll(t, r, "docs/sub/deeper/c.txt", fetch.WalkOptions{})
	if diff := cmp.Diff([]fetch.Entry{{Key: "docs/sub/deeper/c.txt", Size: 5}}, one); diff != "" {
		t.Errorf("single file (-want +got):\n%s", diff)
	}
	// Hidden entries only when asked.
	var hidden []string
	for _, e := range walkAll(t, r, "docs", fetch.WalkOptions{Hidden: true}) {
		if strings.Contains(e.Key, ".hidden") {
			hidden = append(hidden, e.Key)
		}
	}
	if diff := cmp.Diff([]string{"docs/.hidden/h.txt"}, hidden); diff != "" {
		t.Errorf("hidden (-want +got):\n%s", diff)
	}
	// The walk stops at the callback's error.
	stop := errors.New("stop")
	n := 0
	err := r.Walk(context.Background(), "docs", fetch.WalkOptions{}, func(fetch.Entry) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("Walk with stopping callback = %v after %d entries", err, n)
	}
	// A cancelled context stops it too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Walk(ctx, "docs", fetch.WalkOptions{}, func(fetch.Entry) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled walk = %v", err)
	}
}

func TestNewRoots(t *testing.T) {
	base := t.TempDir()
	a := filepath.Join(base, "a", "docs")
	b := filepath.Join(base, "b", "docs")
	mustMkdir(t, a, b)
	mustWrite(t, filepath.Join(base, "file"), "x")
	for _, paths := range [][]string{
		{a, b},                           // same base name
		{filepath.Join(base, "missing")}, // does not exist
		{filepath.Join(base, "file")},    // not a directory
		{"/"},                            // the file system root
	} {
		if _, err := fetch.NewRoots(fetch.RootsConfig{Paths: paths}); ragd.ErrorCode(err) != ragd.EInvalid {
			t.Errorf("NewRoots(%v) = %v, want invalid", paths, err)
		}
	}
	// Nested roots: the innermost one owns a path.
	inner := filepath.Join(a, "inner")
	mustMkdir(t, inner)
	mustWrite(t, filepath.Join(inner, "x.txt"), "x")
	r := mustRoots(t, fetch.RootsConfig{Paths: []string{a, inner}})
	got := walkAll(t, r, filepath.Join(inner, "x.txt"), fetch.WalkOptions{})
	if len(got) != 1 || got[0].Key != "inner/x.txt" {
		t.Errorf("nested roots: %+v", got)
	}
}
