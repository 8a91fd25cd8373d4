package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/generate"
)

// searchArgs are the flags search and query share.
type searchArgs struct {
	collection string
	topK       int
	mode       string
	filter     string
	local      bool
	asJSON     bool
}

func (s *searchArgs) register(f *cmdFlags) {
	f.StringVar(&s.collection, "collection", "default", "collection to search")
	f.IntVar(&s.topK, "top-k", 0, "number of chunks to retrieve (default 5)")
	f.StringVar(&s.mode, "mode", "", "retrieval mode: hybrid, vector or lexical (default hybrid)")
	f.StringVar(&s.filter, "filter", "", `metadata filter as JSON, e.g. '{"lang":"en"}'`)
	f.BoolVar(&s.local, "local", false, "run in-process against the configured store instead of a server")
	f.BoolVar(&s.asJSON, "json", false, "print JSON")
	f.config("url", "ragd server URL (default http://localhost:8080, or $RAGD_URL)")
	f.config("data_dir", "data directory, with --local")
}

func (s *searchArgs) question(query string) (ragd.Question, error) {
	q := ragd.Question{Collection: s.collection, Query: query, TopK: s.topK, Mode: s.mode}
	f, err := ragd.ParseFilter([]byte(s.filter))
	if err != nil {
		return q, err
	}
	q.Filter = f
	return q, nil
}

// body is the JSON request body for the server.
func (s *searchArgs) body(query string) map[string]any {
	b := map[string]any{"query": query}
	if s.topK != 0 {
		b["top_k"] = s.topK
	}
	if s.mode != "" {
		b["mode"] = s.mode
	}
	if s.filter != "" {
		b["filter"] = json.RawMessage(s.filter)
	}
	return b
}

// localApp opens the application in-process for --local commands, with
// logs at warn level so they do not drown the output.
func localApp(ctx context.Context, env *Env, cfg Config) (*App, error) {
	if cfg.LogLevel == "info" {
		cfg.LogLevel = "warn"
	}
	return NewApp(ctx, cfg, newLogger(cfg, env.Stderr))
}

func oneArg(f *cmdFlags, what string) (string, error) {
	if f.NArg() != 1 {
		f.Usage()
		return "", fmt.Errorf("%s needs exactly one quoted %s argument", f.Name(), what)
	}
	return f.Arg(0), nil
}

func runSearch(ctx context.Context, env *Env, args []string) error {
	f := newFlags(env, "search", `"query"`, "Print the chunks that best match the query, with their scores.")
	var s searchArgs
	s.register(f)
	if err := f.Parse(args); err != nil {
		return err
	}
	query, err := oneArg(f, "query")
	if err != nil {
		return err
	}
	cfg, err := f.load()
	if err != nil {
		return err
	}
	var resp struct {
		Data      []ragd.Hit     `json:"data"`
		Retrieval ragd.Retrieval `json:"retrieval"`
	}
	if s.local {
		q, err := s.question(query)
		if err != nil {
			return err
		}
		app, err := localApp(ctx, env, cfg)
		if err != nil {
			return err
		}
		defer app.Close()
		if resp.Data, resp.Retrieval, err = app.Retrieve.Retrieve(ctx, q); err != nil {
			return err
		}
	} else if err := newClient(cfg.URL, cfg.APIKey).do(ctx, "POST", collectionPath(s.collection, "search"), s.body(query), &resp); err != nil {
		return err
	}
	if s.asJSON {
		return json.NewEncoder(env.Stdout).Encode(resp)
	}
	printRetrieval(env.Stdout, resp.Retrieval)
	for i, h := range resp.Data {
		fmt.Fprintf(env.Stdout, "%2d. %.4f  %s%s\n", i+1, h.Score, h.Title, pageSuffix(h.Metadata))
		fmt.Fprintf(env.Stdout, "    %s\n", indent(clipText(h.Text, 300)))
	}
	if len(resp.Data) == 0 {
		fmt.Fprintln(env.Stdout, "no results")
	}
	return nil
}

func runQuery(ctx context.Context, env *Env, args []string) error {
	f := newFlags(env, "query", `"question"`, "Ask a question; the answer streams to the terminal, then its numbered sources.")
	var s searchArgs
	s.register(f)
	maxTokens := f.Int("max-tokens", 0, "answer length limit in tokens")
	if err := f.Parse(args); err != nil {
		return err
	}
	query, err := oneArg(f, "question")
	if err != nil {
		return err
	}
	cfg, err := f.load()
	if err != nil {
		return err
	}
	var (
		sources   []ragd.Source
		citations []int
		model     string
	)
	out := env.Stdout
	if s.local {
		q, err := s.question(query)
		if err != nil {
			return err
		}
		q.MaxTokens = *maxTokens
		app, err := localApp(ctx, env, cfg)
		if err != nil {
			return err
		}
		defer app.Close()
		err = app.Answerer.Answer(ctx, q, func(e generate.Event) error {
			switch e.Kind {
			case generate.EventSources:
				sources, model = e.Sources, e.Model
				printRetrieval(out, e.Retrieval)
			case generate.EventDelta:
				io.WriteString(out, e.Text)
			case generate.EventDone:
				citations, model = e.Citations, e.Model
			}
			return nil
		})
		if err != nil {
			return err
		}
	} else {
		body := s.body(query)
		if *maxTokens > 0 {
			body["max_tokens"] = *maxTokens
		}
		err = newClient(cfg.URL, cfg.APIKey).stream(ctx, collectionPath(s.collection, "query"), body, func(name string, data []byte) error {
			switch name {
			case "sources":
				var ev struct {
					Sources   []ragd.Source  `json:"sources"`
					Retrieval ragd.Retrieval `json:"retrieval"`
					Model     string         `json:"model"`
				}
				if err := json.Unmarshal(data, &ev); err != nil {
					return err
				}
				sources, model = ev.Sources, ev.Model
				printRetrieval(out, ev.Retrieval)
			case "delta":
				var ev struct{ Text string }
				if err := json.Unmarshal(data, &ev); err != nil {
					return err
				}
				io.WriteString(out, ev.Text)
			case "done":
				var ev struct {
					Citations []int  `json:"citations"`
					Model     string `json:"model"`
				}
				if err := json.Unmarshal(data, &ev); err != nil {
					return err
				}
				citations, model = ev.Citations, ev.Model
			}
			return nil
		})
		if err != nil {
			fmt.Fprintln(out)
			return err
		}
	}
	fmt.Fprintln(out)
	if model == generate.ExtractiveModel {
		fmt.Fprintln(out, "(extractive answer: sentences quoted from the sources; configure an LLM for written answers)")
	}
	if len(sources) > 0 {
		fmt.Fprintln(out, "\nSources:")
	}
	for _, src := range sources {
		mark := " "
		for _, c := range citations {
			if c == src.N {
				mark = "*"
			}
		}
		fmt.Fprintf(out, "%s[%d] %s%s (%s)\n", mark, src.N, src.Title, pageSuffix(src.Metadata), orDash(src.Source))
	}
	return nil
}

func printRetrieval(w io.Writer, r ragd.Retrieval) {
	if r.Reason != "" {
		fmt.Fprintf(w, "(retrieval: %s, not %s: %s)\n", r.Mode, r.Requested, r.Reason)
	}
}

func pageSuffix(meta map[string]any) string {
	if p, ok := meta["page"]; ok {
		return fmt.Sprintf(", p. %v", p)
	}
	return ""
}

func clipText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n] + "…"
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
