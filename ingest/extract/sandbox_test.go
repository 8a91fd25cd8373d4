package extract_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/extract"
	"github.com/ragd/ragd/ingest/extract/extracttest"
)

// childSandbox returns a Sandbox whose child is this test binary in the
// given mode (see TestMain).
func childSandbox(mode string) *extract.Sandbox {
	return &extract.Sandbox{
		Command: []string{os.Args[0]},
		Env:     append(os.Environ(), childEnv+"="+mode),
		Options: extract.Options{CacheDir: testCacheDir},
	}
}

// flateBombPDF is a one-page PDF whose content stream inflates to n MiB of
// spaces (RELIABILITY.md H-4).
func flateBombPDF(mib int) []byte {
	return extracttest.FlatePagePDF(extracttest.ZlibRepeated(bytes.Repeat([]byte(" "), 1<<20), mib))
}

// bigTextPDF is a one-page PDF whose text is n lines of 100 characters
// (RELIABILITY.md H-11: 100 MB of text from a small file).
func bigTextPDF(lines int) []byte {
	line := []byte("(" + strings.Repeat("A", 98) + ") Tj T*\n")
	return extracttest.FlatePagePDF(extracttest.ZlibRepeated(append([]byte("BT /F1 1 Tf 14 TL\n"), bytes.Repeat(line, lines/100)...), 1))
}

func TestSandboxExtractsInChild(t *testing.T) {
	s := childSandbox("serve")
	ctx := context.Background()
	if !raceTest {
		docs, err := s.Extract(ctx, ingest.File{Name: "r.pdf", Data: textPDF(t, []string{"One."}, []string{"Two."})})
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) != 1 || len(docs[0].Blocks) != 2 || docs[0].Blocks[1].Page != 2 || docs[0].Blocks[1].Text != "Two." || docs[0].ContentType != extract.TypePDF {
			t.Errorf("docs = %+v", docs)
		}
	}
	docs, err := s.Extract(ctx, ingest.File{Name: "plan.docx", Data: structuredDocx(t, wNS, relNS)})
	if err != nil {
		t.Fatal(err)
	}
	if docs[0].Title != "Plan 2027" || len(docs[0].Blocks) != 11 {
		t.Errorf("docx through the child: %+v", docs)
	}
	// An extraction error comes back with its code and reason.
	_, err = s.Extract(ctx, ingest.File{Name: "x.docx", Data: makeZip(t, zipEntry{"[Content_Types].xml", contentTypesXML}, zipEntry{"word/document.xml", "x"}, zipEntry{"../../x", "y"})})
	if ragd.ErrorCode(err) != ragd.EInvalid || extract.Reason(err) != extract.ReasonUnsafePath {
		t.Errorf("zip slip through the child: %v (%s)", err, extract.Reason(err))
	}
}

// TestSandboxInProcess checks what never starts a child: cheap formats,
// and files sniffing rejects (H-12: an ELF named .pdf reaches no parser).
func TestSandboxInProcess(t *testing.T) {
	s := &extract.Sandbox{Command: []string{"/nonexistent/ragd", "__extract"}}
	ctx := context.Background()
	for name, data := range map[string]string{
		"a.txt": "plain words", "a.md": "# T\n\nx", "a.csv": "a,b\n1,2\n", "a.jsonl": "{\"text\": \"x\"}\n",
	} {
		if _, err := s.Extract(ctx, ingest.File{Name: name, Data: []byte(data)}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	elf := append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 100)...)
	if _, err := s.Extract(ctx, ingest.File{Name: "report.pdf", Data: elf}); ragd.ErrorCode(err) != ragd.EUnsupported {
		t.Errorf("ELF named .pdf: %v", err)
	}
	// A PDF does need the child, which cannot start here.
	if _, err := s.Extract(ctx, ingest.File{Name: "a.pdf", Data: textPDF(t, []string{"x"})}); ragd.ErrorCode(err) != ragd.EInternal {
		t.Errorf("PDF without a child: %v", err)
	}
}

// TestSandboxCrash (H-1): a parser that panics fails its file only.
func TestSandboxCrash(t *testing.T) {
	_, err := childSandbox("panic").Extract(context.Background(), ingest.File{Name: "a.pdf", Data: textPDF(t, []string{"x"})})
	if ragd.ErrorCode(err) != ragd.EInvalid || extract.Reason(err) != extract.ReasonParse || !strings.Contains(ragd.ErrorMessage(err), "crashed") {
		t.Errorf("err = %v (%s)", err, extract.Reason(err))
	}
}

// TestSandboxTimeout (H-2): a hung parser is killed at the deadline with
// every process it started.
func TestSandboxTimeout(t *testing.T) {
	s := childSandbox("hang")
	pidFile := filepath.Join(t.TempDir(), "pid")
	s.Env = append(s.Env, pidFileEnv+"="+pidFile)
	s.Timeout = time.Second
	start := time.Now()
	_, err := s.Extract(context.Background(), ingest.File{Name: "a.pdf", Data: textPDF(t, []string{"x"})})
	elapsed := time.Since(start)
	if extract.Reason(err) != extract.ReasonTimeout || elapsed > 3*time.Second {
		t.Fatalf("err = %v (%s) after %v, want a timeout after 1s", err, extract.Reason(err), elapsed)
	}
	// The grandchild ("sleep 600") was in the child's process group.
	b, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(string(b))
	if pid == 0 {
		t.Fatalf("no grandchild pid in %s", pidFile)
	}
	for deadline := time.Now().Add(2 * time.Second); ; {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break // gone, or dead and waiting to be reaped
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("grandchild %d still running: %s", pid, stat)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSandboxBombs (H-4, H-11): PDFs that expand to gigabytes fail in the
// child with their reason while this process's memory stays flat.
func TestSandboxBombs(t *testing.T) {
	needPDFEngine(t)
	s := childSandbox("serve")
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"flate bomb 1.4 GB", flateBombPDF(1400)},
		{"100 MB of text", bigTextPDF(1_000_000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			docs, err := s.Extract(context.Background(), ingest.File{Name: "bomb.pdf", Data: tc.data})
			runtime.ReadMemStats(&after)
			t.Logf("%d bytes: %v (%s) in %v; parent heap %d -> %d MB", len(tc.data), err, extract.Reason(err), time.Since(start), before.HeapInuse>>20, after.HeapInuse>>20)
			switch extract.Reason(err) {
			case extract.ReasonDecompressedTooLarge, extract.ReasonMemoryLimit:
			default:
				t.Errorf("err = %v (%s), docs %d", err, extract.Reason(err), len(docs))
			}
			if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 50<<20 {
				t.Errorf("parent heap grew by %d MB", grew>>20)
			}
		})
	}
}
