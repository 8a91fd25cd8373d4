// Command ragd is a retrieval-augmented generation service: it ingests
// documents, indexes them, and answers questions with cited sources. See
// `ragd --help`.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &Env{Args: os.Args[1:], Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if err := Run(ctx, env); err != nil {
		fmt.Fprintln(os.Stderr, "ragd:", errorLine(err))
		os.Exit(exitCode(err))
	}
}

// Env is what a command sees of the outside world, so tests can run
// commands in-process.
type Env struct {
	Args   []string
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}
