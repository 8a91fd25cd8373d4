package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest/extract"
)

// command is one ragd subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
	hidden  bool
}

// commands is filled in by each command's file.
func commands() map[string]command {
	return map[string]command{
		"version": {summary: "print the version", run: runVersion},
		"serve":   {summary: "run the HTTP server", run: runServe},
		"search":  {summary: "print the chunks that best match a query", run: runSearch},
		"query":   {summary: "ask a question and stream the cited answer", run: runQuery},
		"eval":    {summary: "evaluate retrieval on a BEIR-format dataset", run: runEval},
		"ingest":  {summary: "ingest files, directories and URLs", run: runIngest},
		"models":  {summary: "download (pull) or list the built-in embedding models", run: runModels},
		"migrate": {summary: "apply database migrations", run: runMigrate},
		// ragd runs itself as "ragd __extract" to parse an untrusted file
		// in a child process (see extract.Sandbox).
		"__extract": {summary: "parse one file for the server (internal)", run: runExtractChild, hidden: true},
	}
}

// Run runs the command named by env.Args.
func Run(ctx context.Context, env *Env) error {
	cmds := commands()
	if len(env.Args) == 0 || env.Args[0] == "-h" || env.Args[0] == "--help" || env.Args[0] == "help" {
		usage(env, cmds)
		if len(env.Args) == 0 {
			return errUsage
		}
		return nil
	}
	cmd, ok := cmds[env.Args[0]]
	if !ok {
		usage(env, cmds)
		return fmt.Errorf("unknown command %q", env.Args[0])
	}
	err := cmd.run(ctx, env, env.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

var errUsage = errors.New("no command given")

func usage(env *Env, cmds map[string]command) {
	fmt.Fprintln(env.Stderr, "Usage: ragd COMMAND [flags] [args]\n\nCommands:")
	names := make([]string, 0, len(cmds))
	for n, c := range cmds {
		if !c.hidden {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(env.Stderr, "  %-10s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(env.Stderr, "\nRun `ragd COMMAND --help` for a command's flags.")
}

func runVersion(_ context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "ragd", ragd.Version)
	return nil
}

// errorLine is an error as the one line the CLI prints.
func errorLine(err error) string {
	var e *ragd.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// exitCode maps an error to the CLI's exit status: 2 for usage errors, 1
// otherwise.
func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// runExtractChild is the child side of the extraction sandbox: one request
// on stdin, one answer on stdout, and nothing else written there.
func runExtractChild(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("__extract takes no arguments, got %q", args[0])
	}
	return extract.ServeChild(ctx, env.Stdin, env.Stdout)
}
