package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest"
)

// maxIngestFile bounds one file read by `ragd ingest`.
const maxIngestFile = 100 << 20

// ingestSummary counts a `ragd ingest` run's outcomes.
type ingestSummary struct {
	counts map[string]int
	chunks int
	failed []string
	start  time.Time
}

func (s *ingestSummary) add(status string, chunks int) {
	if s.counts == nil {
		s.counts = map[string]int{}
	}
	s.counts[status]++
	if status != ragd.StatusUnchanged {
		s.chunks += chunks
	}
}

func (s *ingestSummary) fail(source string, err error) {
	s.add(ragd.StatusFailed, 0)
	s.failed = append(s.failed, fmt.Sprintf("%s: %s", source, errorLine(err)))
}

func (s *ingestSummary) print(env *Env) {
	fmt.Fprintf(env.Stdout, "documents: %d new, %d updated, %d unchanged, %d failed; %d chunks written; %s\n",
		s.counts[ragd.StatusIndexed], s.counts[ragd.StatusUpdated], s.counts[ragd.StatusUnchanged], s.counts[ragd.StatusFailed],
		s.chunks, time.Since(s.start).Round(time.Millisecond))
	for _, f := range s.failed {
		fmt.Fprintf(env.Stdout, "failed: %s\n", f)
	}
}

// localFile is a file found under the paths given to `ragd ingest`.
type localFile struct {
	path   string // path on disk
	source string // source name: the path as given, relative to the directory walked
}

// walkPaths lists the regular files under paths, in a stable order.
// Symlinks are not followed out of the directories walked.
func walkPaths(paths []string) ([]localFile, error) {
	var out []localFile
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			out = append(out, localFile{path: p, source: filepath.ToSlash(filepath.Clean(p))})
			continue
		}
		base := filepath.Base(filepath.Clean(p))
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") {
				return nil
			}
			rel, err := filepath.Rel(p, path)
			if err != nil {
				return err
			}
			out = append(out, localFile{path: path, source: filepath.ToSlash(filepath.Join(base, rel))})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].source < out[j].source })
	return out, nil
}

func runIngest(ctx context.Context, env *Env, args []string) error {
	f := newFlags(env, "ingest", "PATH_OR_URL...", "Ingest files, directories (recursively) and URLs into a collection. Running it again after an interruption finishes the rest; unchanged documents cost no embedding.")
	collection := f.String("collection", "default", "collection to ingest into")
	local := f.Bool("local", false, "run the pipeline in-process against the configured store instead of a server")
	f.config("url", "ragd server URL (default http://localhost:8080, or $RAGD_URL)")
	f.config("data_dir", "data directory, with --local")
	f.config("embedder", "embedder of the collection, if ingest creates it")
	if err := f.Parse(args); err != nil {
		return err
	}
	if f.NArg() == 0 {
		f.Usage()
		return fmt.Errorf("ingest needs at least one path or URL")
	}
	cfg, err := f.load()
	if err != nil {
		return err
	}
	files, err := walkPaths(f.Args())
	if err != nil {
		return err
	}
	sum := &ingestSummary{start: time.Now()}
	var ingestFile func(lf localFile, data []byte) ([]documentResult, error)
	if *local {
		app, err := localApp(ctx, env, cfg)
		if err != nil {
			return err
		}
		defer app.Close()
		ingestFile = func(lf localFile, data []byte) ([]documentResult, error) {
			rs, err := app.Ingest.IngestFile(ctx, *collection, ingest.File{Name: lf.source, Data: data}, nil)
			out := make([]documentResult, len(rs))
			for i, r := range rs {
				out[i] = documentResult{ID: r.DocumentID, Source: r.Source, Status: r.Status, Chunks: r.Chunks}
			}
			return out, err
		}
	} else {
		c := newClient(cfg.URL, cfg.APIKey)
		ingestFile = func(lf localFile, data []byte) ([]documentResult, error) {
			return c.upload(ctx, *collection, []uploadFile{{Name: lf.source, Data: data}})
		}
	}
	for i, lf := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := readBounded(lf.path, maxIngestFile)
		if err == nil {
			var rs []documentResult
			rs, err = ingestFile(lf, data)
			for _, r := range rs {
				if r.Error != nil {
					sum.fail(lf.source, &ragd.Error{Code: r.Error.Code, Message: r.Error.Message})
					continue
				}
				sum.add(r.Status, r.Chunks)
			}
		}
		if err != nil {
			if ragd.ErrorCode(err) == ragd.EUnavailable {
				return err // the server is gone: stop, a rerun resumes
			}
			sum.fail(lf.source, err)
		}
		fmt.Fprintf(env.Stderr, "[%d/%d] %s\n", i+1, len(files), lf.source)
	}
	sum.print(env)
	if sum.counts[ragd.StatusFailed] > 0 {
		return fmt.Errorf("%d of %d documents failed", sum.counts[ragd.StatusFailed], len(files))
	}
	return nil
}

// readBounded reads a file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Size() > limit {
		return nil, ragd.Errorf(ragd.ETooLarge, "%s is %d bytes; the limit is %d", path, info.Size(), limit)
	}
	return os.ReadFile(path)
}
