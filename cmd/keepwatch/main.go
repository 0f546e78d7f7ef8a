package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/keepwatch/keepwatch/config"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // runtime failure
	exitUsage   = 2 // invalid configuration or command line
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// exitError carries the exit status a command failed with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// run executes the command line and returns the exit status. Errors are
// printed to stderr: plainly, one problem per line for an invalid config.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	root := newRootCmd(getenv, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if !errors.As(err, &ee) {
		// Not from a command's own code: cobra rejected the command line.
		fmt.Fprintf(stderr, "keepwatch: %v\nRun 'keepwatch --help' for usage.\n", err)
		return exitUsage
	}
	var problems config.Errors
	if errors.As(err, &problems) {
		fmt.Fprintln(stderr, problems.Error())
		noun := "problems"
		if len(problems) == 1 {
			noun = "problem"
		}
		fmt.Fprintf(stderr, "keepwatch: invalid configuration (%d %s); fix the lines above and run again\n", len(problems), noun)
		return ee.code
	}
	fmt.Fprintf(stderr, "keepwatch: %s\n", strings.TrimSpace(err.Error()))
	return ee.code
}
