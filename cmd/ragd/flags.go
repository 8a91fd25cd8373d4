package main

import (
	"flag"
	"fmt"
	"strings"
)

// cmdFlags is a subcommand's flag set, with flags that override
// configuration keys.
type cmdFlags struct {
	*flag.FlagSet
	env       *Env
	cfgPath   string
	overrides map[string]string
}

func newFlags(env *Env, name, args, summary string) *cmdFlags {
	f := &cmdFlags{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), env: env, overrides: map[string]string{}}
	f.SetOutput(env.Stderr)
	f.StringVar(&f.cfgPath, "config", "", "YAML configuration file (default $RAGD_CONFIG)")
	f.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: ragd %s [flags] %s\n\n%s\n\nFlags:\n", name, args, summary)
		f.PrintDefaults()
	}
	return f
}

// config registers --KEY (dashes for underscores) as an override of the
// configuration key.
func (f *cmdFlags) config(key, usage string) {
	name := strings.ReplaceAll(key, "_", "-")
	f.Func(name, usage, func(v string) error {
		f.overrides[key] = v
		return nil
	})
}

// load reads the configuration with this command's flag overrides.
func (f *cmdFlags) load() (Config, error) {
	return LoadConfig(f.env.Getenv, f.cfgPath, f.overrides)
}
