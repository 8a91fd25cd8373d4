package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ragd/ragd"
)

// jobState is what GET /v1/jobs/{id} says about a job.
type jobState struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Progress struct {
		Total, Done, Failed, Skipped, Chunks, Embedded int
		Indexed, Updated, Unchanged                    int
	} `json:"progress"`
}

// startJobServer starts ragd serve as a child process that may read root.
func startJobServer(t *testing.T, dataDir, addr, root string) *serverProcess {
	t.Helper()
	return startProcessEnv(t, dataDir, addr, "RAGD_INGEST_ROOTS="+root)
}

// startProcessEnv is startProcess with extra environment variables.
func startProcessEnv(t *testing.T, dataDir, addr string, env ...string) *serverProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--addr", addr, "--data-dir", dataDir, "--embedder", "hash:64", "--llm", "extractive")
	cmd.Env = append(append(os.Environ(), "RAGD_TEST_AS_RAGD=1", "RAGD_LOG_LEVEL=error"), env...)
	cmd.Stderr = os.Stderr
	return waitProcess(t, cmd, addr)
}

func submitFolderJob(t *testing.T, url, root string) jobState {
	t.Helper()
	var j jobState
	if code := call(t, "POST", url+"/v1/jobs", map[string]any{"collection": "cfdocs", "sources": []map[string]string{{"path": root}}}, &j); code != 202 {
		t.Fatalf("submit job: %d %+v", code, j)
	}
	return j
}

func waitJob(t *testing.T, url, id string) jobState {
	t.Helper()
	var j jobState
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		call(t, "GET", url+"/v1/jobs/"+id, nil, &j)
		switch j.Status {
		case "succeeded", "failed", "cancelled":
			return j
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("job %s did not end: %+v", id, j)
	return j
}

// TestKillDuringFolderJob ingests the 281 cfdocs pages as a folder job,
// kills ragd with SIGKILL part way, restarts it, and checks that the job
// finishes by itself with the same document and chunk counts as an
// uninterrupted run, nothing duplicated, and that the same job again
// embeds nothing.
func TestKillDuringFolderJob(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	root, err := filepath.Abs(filepath.Join(evalDir, "cfdocs", "src"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Fatalf("cfdocs eval data: %v", err)
	}

	// The uninterrupted run.
	addr := freeAddr(t)
	p := startJobServer(t, t.TempDir(), addr, root)
	ref := waitJob(t, p.url, submitFolderJob(t, p.url, root).ID)
	var want ragd.Collection
	call(t, "GET", p.url+"/v1/collections/cfdocs", nil, &want)
	p.kill9()
	if ref.Status != "succeeded" || ref.Progress.Done != ref.Progress.Total || want.DocumentCount < 281 {
		t.Fatalf("uninterrupted job: %+v, collection %+v", ref, want)
	}

	// The interrupted run: killed once some pages are in, well before the end.
	dataDir := t.TempDir()
	p = startJobServer(t, dataDir, addr, root)
	j := submitFolderJob(t, p.url, root)
	for {
		var now jobState
		call(t, "GET", p.url+"/v1/jobs/"+j.ID, nil, &now)
		if now.Status == "succeeded" {
			t.Fatal("the job finished before it could be interrupted")
		}
		if now.Progress.Done >= 30 {
			p.kill9()
			t.Logf("killed at %d of %d items", now.Progress.Done, now.Progress.Total)
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	p = startJobServer(t, dataDir, addr, root)
	got := waitJob(t, p.url, j.ID)
	if got.Status != "succeeded" || got.Progress.Failed != 0 || got.Progress.Done != ref.Progress.Done {
		t.Fatalf("resumed job: %+v, uninterrupted %+v", got, ref)
	}
	var have ragd.Collection
	call(t, "GET", p.url+"/v1/collections/cfdocs", nil, &have)
	if have.DocumentCount != want.DocumentCount || have.ChunkCount != want.ChunkCount {
		t.Errorf("after the kill: %d documents, %d chunks; uninterrupted: %d, %d", have.DocumentCount, have.ChunkCount, want.DocumentCount, want.ChunkCount)
	}

	// The same job again embeds nothing.
	again := waitJob(t, p.url, submitFolderJob(t, p.url, root).ID)
	if again.Status != "succeeded" || again.Progress.Embedded != 0 || again.Progress.Unchanged != want.DocumentCount {
		t.Errorf("second job: %+v, want every document unchanged and nothing embedded", again)
	}
	call(t, "GET", p.url+"/v1/collections/cfdocs", nil, &have)
	if have.DocumentCount != want.DocumentCount || have.ChunkCount != want.ChunkCount {
		t.Errorf("after the second job: %d documents, %d chunks; want %d, %d", have.DocumentCount, have.ChunkCount, want.DocumentCount, want.ChunkCount)
	}
}
