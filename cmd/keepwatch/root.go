package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
)

const (
	defaultConfigPath = "./keepwatch.yaml"
	envConfigPath     = "KEEPWATCH_CONFIG"
)

// logLevels are the values --log-level accepts.
var logLevels = []string{"debug", "info", "warn", "error"}

// moreCommands lets other files of this package (plugin_cmd.go) add their
// commands to the root without editing this file.
var moreCommands []func(g *globals) *cobra.Command

// globals holds what the persistent flags decided, for every command.
type globals struct {
	getenv   func(string) string
	stdout   io.Writer
	stderr   io.Writer
	config   string // --config as given
	logLevel string

	log zerolog.Logger // set before any command runs; use logger(component)
}

// configPath is --config when given, else $KEEPWATCH_CONFIG, else
// ./keepwatch.yaml.
func (g *globals) configPath(cmd *cobra.Command) string {
	if cmd.Flags().Changed("config") {
		return g.config
	}
	if p := g.getenv(envConfigPath); p != "" {
		return p
	}
	return g.config
}

// logger returns the process logger tagged with a component.
func (g *globals) logger(component string) zerolog.Logger {
	return g.log.With().Str("component", component).Logger()
}

func newRootCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	g := &globals{getenv: getenv, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "keepwatch",
		Short: "Keep every household member's play state the same on Plex, Jellyfin and Emby",
		Long: "keepwatch keeps each household member's play state (watched or not, when, and the\n" +
			"resume position) the same on all of their Plex, Jellyfin and Emby servers.\n\n" +
			"Start with `keepwatch init` to write a commented keepwatch.yaml, add your\n" +
			"servers to it, then run `keepwatch serve`.",
		SilenceErrors: true, // run prints errors, so each appears once and plainly
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(g.stderr, g.logLevel)
			if err != nil {
				return usageError("%v", err)
			}
			g.log = log
			return nil
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.config, "config", defaultConfigPath, "configuration file (env "+envConfigPath+")")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: "+strings.Join(logLevels, ", "))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError("%v", err) })

	root.AddCommand(newServeCmd(g), newInitCmd(g), newVersionCmd(g))
	for _, add := range moreCommands {
		root.AddCommand(add(g))
	}
	return root
}

// runE adapts a command body so that an error it returns without a status
// exits 1 (runtime failure); cobra's own errors stay usage errors (2).
func runE(body func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := body(cmd, args)
		if err == nil {
			return nil
		}
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		return &exitError{code: exitFailure, err: err}
	}
}

// newLogger writes human-readable lines to a terminal and JSON otherwise.
// Plugin clients log from their own goroutines, so writes are serialised:
// w may be any io.Writer, not only a file.
func newLogger(w io.Writer, level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || !slices.Contains(logLevels, level) {
		return zerolog.Nop(), fmt.Errorf("--log-level %q is not one of %s", level, strings.Join(logLevels, ", "))
	}
	if f, ok := w.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		w = zerolog.ConsoleWriter{Out: f, TimeFormat: "15:04:05"}
	}
	return zerolog.New(zerolog.SyncWriter(w)).Level(lvl).With().Timestamp().Logger(), nil
}
