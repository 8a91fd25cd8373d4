package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ragd/ragd"
)

// TestMain lets the test binary run as ragd itself, so crash tests can
// start and kill a real server process.
func TestMain(m *testing.M) {
	// The test binary is ragd when a test runs it as a server, and when the
	// extraction sandbox runs it as "ragd __extract".
	if os.Getenv("RAGD_TEST_AS_RAGD") == "1" || len(os.Args) > 1 && os.Args[1] == "__extract" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serverProcess is ragd serve running as a child process.
type serverProcess struct {
	cmd *exec.Cmd
	url string
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startProcess(t *testing.T, dataDir, addr string) *serverProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--addr", addr, "--data-dir", dataDir, "--embedder", "hash:64", "--llm", "extractive")
	cmd.Env = append(os.Environ(), "RAGD_TEST_AS_RAGD=1", "RAGD_LOG_LEVEL=error")
	cmd.Stderr = os.Stderr
	return waitProcess(t, cmd, addr)
}

// waitProcess starts cmd, a ragd server on addr, and waits until it
// answers /healthz.
func waitProcess(t *testing.T, cmd *exec.Cmd, addr string) *serverProcess {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProcess{cmd: cmd, url: "http://" + addr}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(p.url + "/healthz"); err == nil {
			resp.Body.Close()
			return p
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("ragd did not start")
	return nil
}

func (p *serverProcess) kill9() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

// crashDoc is a document with a unique canary word and enough text for
// several chunks.
func crashDoc(n int) fileUpload {
	var b strings.Builder
	fmt.Fprintf(&b, "# Document %d\n\nThe canary of this document is canary%05dzq.\n\n", n, n)
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "Paragraph %d of document %d talks about durable storage, fsync and crash recovery in some detail. ", i, n)
		if i%5 == 4 {
			b.WriteString("\n\n")
		}
	}
	return fileUpload{name: fmt.Sprintf("crash/doc-%05d.md", n), data: b.String()}
}

// TestKillDuringUploads kills ragd with SIGKILL while uploads are in
// flight, restarts it, and checks that every acknowledged upload is there
// whole and searchable, nothing is there by half, and searches for the
// acknowledged documents return what they returned before the kill.
func TestKillDuringUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	dataDir := t.TempDir()
	addr := freeAddr(t)
	acked := map[string]int{} // document ID -> document number
	topHit := map[string]string{}
	next := 0
	for round, seed := range []uint64{1, 2, 3} {
		rng := rand.New(rand.NewPCG(seed, seed))
		p := startProcess(t, dataDir, addr)
		var mu sync.Mutex
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Go(func() {
				for ctx.Err() == nil {
					mu.Lock()
					n := next
					next++
					mu.Unlock()
					code, res := uploadFilesCtx(ctx, p.url+"/v1/collections/crash/documents", []fileUpload{crashDoc(n)})
					if code == http.StatusCreated && len(res) == 1 {
						mu.Lock()
						acked[res[0].ID] = n
						mu.Unlock()
					}
				}
			})
		}
		time.Sleep(time.Duration(300+rng.IntN(700)) * time.Millisecond)
		p.kill9()
		stop()
		wg.Wait()

		p = startProcess(t, dataDir, addr)
		var coll ragd.Collection
		call(t, "GET", p.url+"/v1/collections/crash", nil, &coll)
		if coll.DocumentCount < len(acked) {
			t.Errorf("round %d: %d documents after restart, %d were acknowledged", round, coll.DocumentCount, len(acked))
		}
		// Every document present is whole.
		var all []ragd.Document
		for cursor := ""; ; {
			var page struct {
				Data       []ragd.Document
				NextCursor string `json:"next_cursor"`
			}
			call(t, "GET", p.url+"/v1/collections/crash/documents?limit=1000&cursor="+cursor, nil, &page)
			all = append(all, page.Data...)
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if len(all) != coll.DocumentCount {
			t.Errorf("round %d: listed %d documents, collection counts %d", round, len(all), coll.DocumentCount)
		}
		total := 0
		for _, d := range all {
			var full struct {
				ragd.Document
				Chunks []ragd.Chunk `json:"chunks"`
			}
			call(t, "GET", p.url+"/v1/collections/crash/documents/"+d.ID+"?include=chunks", nil, &full)
			if len(full.Chunks) != d.ChunkCount || d.ChunkCount < 2 {
				t.Errorf("round %d: document %s has %d of %d chunks", round, d.ID, len(full.Chunks), d.ChunkCount)
			}
			total += len(full.Chunks)
		}
		if total != coll.ChunkCount {
			t.Errorf("round %d: collection counts %d chunks, documents hold %d", round, coll.ChunkCount, total)
		}
		// Every acknowledged document is found by its canary, as before.
		for id, n := range acked {
			var res struct{ Data []ragd.Hit }
			call(t, "POST", p.url+"/v1/collections/crash/search", map[string]any{"query": fmt.Sprintf("canary%05dzq", n), "top_k": 1, "mode": "lexical"}, &res)
			if len(res.Data) != 1 || res.Data[0].DocumentID != id {
				t.Errorf("round %d: acknowledged document %d (%s) not found by its canary: %+v", round, n, id, res.Data)
				continue
			}
			if prev, ok := topHit[id]; ok && prev != res.Data[0].ChunkID {
				t.Errorf("round %d: document %d's top chunk changed from %s to %s", round, n, prev, res.Data[0].ChunkID)
			}
			topHit[id] = res.Data[0].ChunkID
		}
		t.Logf("round %d: %d acknowledged, %d present, %d chunks", round, len(acked), coll.DocumentCount, coll.ChunkCount)
		p.kill9()
	}
	if len(acked) == 0 {
		t.Fatal("no upload was acknowledged")
	}
}

// uploadFilesCtx is uploadFiles for a request that may fail when the
// server is killed.
func uploadFilesCtx(ctx context.Context, url string, files []fileUpload) (int, []documentResult) {
	body, ct := multipartOf(files)
	req, _ := http.NewRequestWithContext(ctx, "POST", url, body)
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var out struct {
		Data []documentResult `json:"data"`
	}
	if decodeErr := jsonDecode(resp.Body, &out); decodeErr != nil {
		return 0, nil // cut mid-response: not acknowledged
	}
	return resp.StatusCode, out.Data
}
