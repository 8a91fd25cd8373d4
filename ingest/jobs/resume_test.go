package jobs_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/jobs"
	"github.com/ragd/ragd/ingest/jobs/boltstore"
)

// The child process of TestKillResume reads these.
const (
	childDirEnv  = "RAGD_JOBS_TEST_CHILD_DIR"
	childRootEnv = "RAGD_JOBS_TEST_CHILD_ROOT"
)

// TestHelperChild is the engine process that TestKillResume starts and
// kills. It submits the folder job on its first run, then works on it until
// the job ends, with its job store and its ingester's documents on disk.
func TestHelperChild(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("the engine process of TestKillResume")
	}
	if err := runChild(dir, os.Getenv(childRootEnv)); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runChild(dir, root string) error {
	store, err := boltstore.Open(filepath.Join(dir, "jobs.db"), boltstore.Options{LockTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer store.Close()
	ing := newFakeIngester(dir)
	ing.hook = func(ctx context.Context, f ingest.File, call int) error {
		time.Sleep(10 * time.Millisecond) // extraction and embedding take time
		return nil
	}
	roots, err := newRoots(root)
	if err != nil {
		return err
	}
	cfg := testConfig(store, ing)
	cfg.Roots = roots
	m, err := jobs.New(cfg)
	if err != nil {
		return err
	}
	ctx := context.Background()
	idFile := filepath.Join(dir, "job.id")
	id, err := os.ReadFile(idFile)
	if os.IsNotExist(err) {
		j, err := m.Submit(ctx, jobs.Spec{Collection: "kb", Sources: []jobs.Source{{Path: filepath.Base(root)}}})
		if err != nil {
			return err
		}
		id = []byte(j.ID)
		if err := os.WriteFile(idFile+".tmp", id, 0o644); err != nil {
			return err
		}
		if err := os.Rename(idFile+".tmp", idFile); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	events, err := m.Events(ctx, string(id))
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var last jobs.Event
	for ev := range events {
		last = ev
	}
	m.Close()
	if err := <-done; err != nil {
		return err
	}
	if last.Type != jobs.EventDone {
		return fmt.Errorf("events ended with %q", last.Type)
	}
	return nil
}

// logLine is one line of the child ingester's call log.
type logLine struct{ what, source, status string }

func readLog(t *testing.T, dir string) []logLine {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "calls.log"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []logLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue // a line cut by the kill
		}
		l := logLine{what: f[0], source: f[1]}
		if len(f) > 2 {
			l.status = f[2]
		}
		out = append(out, l)
	}
	return out
}

// TestKillResume covers D-1/D-5: the engine runs a folder job in a child
// process that is SIGKILLed halfway; a restarted child finishes the job by
// itself with the same documents as an uninterrupted run, no item embedded
// twice, at most one redo per item that was in flight; running the job
// again embeds nothing (D-6).
func TestKillResume(t *testing.T) {
	const nFiles = 40
	base := t.TempDir()
	root := filepath.Join(base, "kb")
	for i := range nFiles {
		mustWrite(t, filepath.Join(root, fmt.Sprintf("d%02d", i/10), fmt.Sprintf("%02d.txt", i)), strings.Repeat(fmt.Sprintf("document %d ", i), 1+i*3))
	}
	dir := t.TempDir()
	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperChild$")
		cmd.Env = append(os.Environ(), childDirEnv+"="+dir, childRootEnv+"="+root)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("child output:\n%s", out.String())
			}
		})
		return cmd
	}

	// First run: kill it once a third of the items are done.
	first := child()
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		done := 0
		for _, l := range readLog(t, dir) {
			if l.what == "done" {
				done++
			}
		}
		if done >= nFiles/3 {
			break
		}
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatal("the child made no progress")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	atKill := readLog(t, dir)

	// Second run: finishes by itself.
	second := child()
	if err := second.Run(); err != nil {
		t.Fatalf("restarted child: %v", err)
	}
	all := readLog(t, dir)

	// Reference: the same job, uninterrupted, in this process.
	refIng := newFakeIngester("")
	refCfg := testConfig(mustBolt(t, filepath.Join(t.TempDir(), "jobs.db")), refIng)
	refCfg.Roots = mustRoots(t, root)
	ref := startManager(t, refCfg)
	rj, err := ref.Submit(context.Background(), jobs.Spec{Collection: "kb", Sources: []jobs.Source{{Path: "kb"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, refFinal := waitEnd(t, ref, rj.ID)
	refOut := outcomes(t, ref, rj.ID)

	// The killed-and-resumed job, read from its store.
	store := mustBolt(t, filepath.Join(dir, "jobs.db"))
	ing := newFakeIngester(dir)
	cfg := testConfig(store, ing)
	cfg.Roots = mustRoots(t, root)
	m := startManager(t, cfg)
	id, err := os.ReadFile(filepath.Join(dir, "job.id"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := m.Job(context.Background(), string(id))
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != jobs.StatusSucceeded || j.Progress.Done != nFiles || j.Progress.Total != nFiles {
		t.Fatalf("resumed job: %s %+v", j.Status, j.Progress)
	}
	got := outcomes(t, m, string(id))

	// Calls per source, before the kill and in all.
	starts, embeds := map[string]int{}, map[string]int{}
	inflightAtKill := map[string]bool{}
	for _, l := range atKill {
		if l.what == "start" {
			inflightAtKill[l.source] = true
		} else {
			delete(inflightAtKill, l.source)
		}
	}
	for _, l := range all {
		switch {
		case l.what == "start":
			starts[l.source]++
		case l.status == "indexed" || l.status == "updated":
			embeds[l.source]++
		}
	}
	redone := 0
	for src, want := range refOut {
		if embeds[src] != 1 {
			t.Errorf("%s embedded %d times, want 1", src, embeds[src])
		}
		switch n := starts[src]; {
		case n == 1:
		case n == 2:
			redone++
		default:
			t.Errorf("%s ingested %d times", src, n)
		}
		// An item whose ingest completed just before the kill, without
		// its outcome recorded, is redone and then reports unchanged.
		if got[src] != want && !(want == "indexed" && got[src] == "unchanged" && starts[src] == 2) {
			t.Errorf("%s: %s, want %s", src, got[src], want)
		}
	}
	doneAtKill := 0
	for _, l := range atKill {
		if l.what == "done" {
			doneAtKill++
		}
	}
	t.Logf("killed after %d of %d items; %d in flight; %d redone", doneAtKill, nFiles, len(inflightAtKill), redone)
	if doneAtKill >= nFiles {
		t.Errorf("the kill came after the job had finished")
	}
	if redone > cfg.Concurrency {
		t.Errorf("%d items redone, want at most %d (the items in flight at the kill: %v)", redone, cfg.Concurrency, inflightAtKill)
	}
	if len(got) != len(refOut) {
		t.Errorf("%d items, want %d", len(got), len(refOut))
	}
	// The documents stored equal the uninterrupted run's.
	for src := range refOut {
		h, ok := ing.doc(docID(src))
		if want := refIng.docs[docID(src)]; !ok || h != want {
			t.Errorf("%s: stored hash %q, want %q", src, h, want)
		}
	}
	items, _ := m.Items(context.Background(), string(id), 0, 1000)
	for _, it := range items {
		if it.Attempts > 2 {
			t.Errorf("%s: %d attempts", it.Source, it.Attempts)
		}
	}
	if j.Progress.Chunks != refFinal.Progress.Chunks {
		t.Errorf("chunks %d, want %d", j.Progress.Chunks, refFinal.Progress.Chunks)
	}

	// Running the job again embeds nothing.
	again, err := m.Submit(context.Background(), jobs.Spec{Collection: "kb", Sources: []jobs.Source{{Path: "kb"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, final := waitEnd(t, m, again.ID)
	if final.Progress.Unchanged != nFiles || final.Progress.Embedded != 0 {
		t.Errorf("re-run: %+v", final.Progress)
	}
	before := len(all)
	for _, l := range readLog(t, dir)[before:] {
		if l.what == "done" && l.status != "unchanged" {
			t.Errorf("re-run embedded %s (%s)", l.source, l.status)
		}
	}
	if diff := cmp.Diff(len(refOut), len(outcomes(t, m, again.ID))); diff != "" {
		t.Errorf("re-run items (-want +got):\n%s", diff)
	}
}
