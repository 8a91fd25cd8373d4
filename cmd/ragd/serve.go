package main

import (
	"context"
	"fmt"
	"net"
)

func runServe(ctx context.Context, env *Env, args []string) error {
	f := newFlags(env, "serve", "", "Run the HTTP server.")
	f.config("addr", "listen address (default :8080)")
	f.config("data_dir", "data directory (default ./ragd-data)")
	f.config("store", "index store: local, postgres or qdrant")
	f.config("embedder", "embedder of new collections")
	f.config("llm", "answer model")
	if err := f.Parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", f.Arg(0))
	}
	cfg, err := f.load()
	if err != nil {
		return err
	}
	logger := newLogger(cfg, env.Stderr)
	app, err := NewApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	return app.Serve(ctx, ln)
}
