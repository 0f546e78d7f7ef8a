package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keepwatch/keepwatch/api"
	"github.com/keepwatch/keepwatch/core/store"
	"github.com/keepwatch/keepwatch/tasks"
)

// exitHeld is the status of `keepwatch import` (or export) whose run the
// guard held: nothing it found propagates until a person decides.
const exitHeld = 3

// pollEvery is how often a waiting command asks for its run.
var pollEvery = 300 * time.Millisecond

func init() {
	moreCommands = append(moreCommands, newRunsCmd,
		func(g *globals) *cobra.Command { return newSyncCmd(g, "import") },
		func(g *globals) *cobra.Command { return newSyncCmd(g, "export") },
		newBackupCmd)
}

func newRunsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "runs", Short: "Show task runs; approve or discard held ones; undo one (asks the running daemon)"}
	r := newRemote(g, cmd)

	var limit int
	list := getCmd(r, "list", "List runs, newest first", cobra.NoArgs,
		func([]string) (string, url.Values) { return "/runs", url.Values{"limit": {strconv.Itoa(limit)}} },
		func(w io.Writer, runs []store.Run) error {
			row(w, "ID", "KIND", "STATUS", "STARTED", "TOOK", "BACKENDS", "OBSERVED", "CHANGED", "QUEUED", "WRITTEN", "ERROR")
			for _, run := range runs {
				row(w, strconv.FormatUint(run.ID, 10), runKind(&run), run.Status, showTime(run.StartedAt), took(&run),
					orDash(strings.Join(run.Backends, ",")), count(&run, "observed"), count(&run, "changed"),
					count(&run, "queued"), count(&run, "written"), orDash(run.Error))
			}
			return nil
		})
	list.Flags().IntVar(&limit, "limit", 20, "at most this many (1 to 1000)")
	showCmd := getCmd(r, "show ID", "Show one run with its counts and what the guard found", cobra.ExactArgs(1), under("/runs/", ""), runDetail)
	cmd.AddCommand(list, showCmd)

	for _, a := range []struct{ verb, short, done string }{
		{"approve", "Apply the changes the guard held in a run; they then reach every backend", "approved"},
		{"discard", "Drop the changes the guard held in a run and write the household's state back to that backend", "discarded"},
		{"undo", "Restore what a run changed (where nothing changed since); the restored state is pushed", "undone"},
	} {
		var asJSON bool
		c := &cobra.Command{
			Use: a.verb + " ID", Short: a.short, Args: cobra.ExactArgs(1),
			RunE: runE(func(cmd *cobra.Command, args []string) error {
				c, err := r.client(cmd)
				if err != nil {
					return err
				}
				var run store.Run
				raw, err := c.do(cmd.Context(), http.MethodPost, "/runs/"+url.PathEscape(args[0])+"/"+a.verb, nil, nil, &run)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(g.stdout, raw)
				}
				if a.verb == "undo" {
					fmt.Fprintf(g.stdout, "run %s undone by run %d: %s record(s) restored, %s changed since and left alone\n",
						args[0], run.ID, count(&run, "changed"), count(&run, "unchanged"))
					return nil
				}
				fmt.Fprintf(g.stdout, "run %d %s: %s\n", run.ID, a.done, countsLine(&run))
				return nil
			}),
		}
		addJSONFlag(c, &asJSON)
		cmd.AddCommand(c)
	}
	return cmd
}

func runKind(run *store.Run) string {
	k := run.Kind
	if run.Full && !strings.HasSuffix(k, "_full") {
		k += " (full)"
	}
	if run.DryRun {
		k += " (dry run)"
	}
	return k
}

func took(run *store.Run) string {
	if run.EndedAt.IsZero() {
		return "-"
	}
	return run.EndedAt.Sub(run.StartedAt).Round(time.Second).String()
}

func count(run *store.Run, key string) string { return strconv.Itoa(run.Counts[key]) }

// countsLine lists a run's non-zero counts in a fixed order, the rest after
// in name order.
func countsLine(run *store.Run) string {
	order := []string{"observed", "created", "changed", "unchanged", "queued", "written", "held"}
	keys := make([]string, 0, len(run.Counts))
	for k := range run.Counts {
		if !slices.Contains(order, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range append(order, keys...) {
		if n := run.Counts[k]; n != 0 {
			parts = append(parts, fmt.Sprintf("%s %d", strings.ReplaceAll(k, "_", " "), n))
		}
	}
	if len(parts) == 0 {
		return "nothing to do"
	}
	return strings.Join(parts, ", ")
}

func runDetail(w io.Writer, run store.Run) error {
	for _, kv := range [][2]string{
		{"Run", strconv.FormatUint(run.ID, 10)},
		{"Kind", runKind(&run)},
		{"Status", run.Status},
		{"Backends", orDash(strings.Join(run.Backends, ", "))},
		{"User", orDash(run.User)},
		{"Started", showTime(run.StartedAt)},
		{"Ended", showTime(run.EndedAt)},
		{"Counts", countsLine(&run)},
		{"Error", orDash(run.Error)},
	} {
		row(w, kv[0]+":", kv[1])
	}
	if len(run.Guard) == 0 {
		return nil
	}
	names := make([]string, 0, len(run.Guard))
	for name := range run.Guard {
		names = append(names, name)
	}
	slices.Sort(names)
	row(w)
	row(w, "GUARD", "OBSERVED", "TO WATCHED", "TO UNWATCHED", "HELD")
	for _, name := range names {
		gc := run.Guard[name]
		held := yesNo(gc.Held)
		if gc.First {
			held += " (first import)"
		}
		row(w, name, strconv.Itoa(gc.Observed), strconv.Itoa(gc.ToWatched), strconv.Itoa(gc.ToUnwatch), held)
	}
	if run.Status == store.RunHeld {
		row(w)
		row(w, fmt.Sprintf("held: keepwatch runs approve %d (apply) or keepwatch runs discard %d (write the household's state back)", run.ID, run.ID))
	}
	return nil
}

// newSyncCmd builds `keepwatch import` and `keepwatch export`.
func newSyncCmd(g *globals, kind string) *cobra.Command {
	var req api.RunRequest
	var noWait, asJSON bool
	short := map[string]string{
		"import": "Read play state from the backends now (a delta; --full reads everything)",
		"export": "Write records to the backends that differ now (--full re-reads them first)",
	}[kind]
	cmd := &cobra.Command{
		Use: kind, Short: short + "; waits and exits 0 ok, 1 failed, 3 held", Args: cobra.NoArgs,
	}
	r := newRemote(g, cmd)
	cmd.RunE = runE(func(cmd *cobra.Command, _ []string) error {
		task := kind
		if kind == "import" && req.Full {
			task = tasks.TaskImportFull
		}
		return r.runTask(cmd, task, req, noWait, asJSON)
	})
	cmd.Flags().StringArrayVar(&req.Backends, "backend", nil, "only this backend (repeat for several)")
	cmd.Flags().StringVar(&req.User, "user", "", "only this user")
	cmd.Flags().BoolVar(&req.Full, "full", false, "everything, not only what changed")
	cmd.Flags().BoolVar(&req.DryRun, "dry-run", false, "journal what would change and change nothing")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "print the run id and return at once")
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func newBackupCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use: "backup", Short: "Back up the database now (into <data_dir>/backups) and wait for it", Args: cobra.NoArgs,
	}
	r := newRemote(g, cmd)
	cmd.RunE = runE(func(cmd *cobra.Command, _ []string) error {
		return r.runTask(cmd, tasks.TaskBackup, api.RunRequest{}, false, asJSON)
	})
	addJSONFlag(cmd, &asJSON)
	return cmd
}

// runTask starts a task through the API and, unless noWait, follows its run
// to the end with a progress line on stderr; the exit status says how it
// ended.
func (r *remote) runTask(cmd *cobra.Command, task string, req api.RunRequest, noWait, asJSON bool) error {
	c, err := r.client(cmd)
	if err != nil {
		return err
	}
	started, err := r.startOrFollow(cmd, c, task, req)
	if err != nil {
		return err
	}
	if noWait {
		fmt.Fprintln(r.g.stdout, started.RunID)
		return nil
	}
	run, raw, err := c.waitRun(cmd.Context(), started.RunID, r.g.stderr)
	if err != nil {
		return err
	}
	if asJSON {
		if err := printJSON(r.g.stdout, raw); err != nil {
			return err
		}
	} else if run.Status != store.RunFailed {
		fmt.Fprintf(r.g.stdout, "run %d %s %s: %s\n", run.ID, runKind(run), run.Status, countsLine(run))
	}
	switch run.Status {
	case store.RunFailed:
		return fmt.Errorf("run %d %s failed: %s", run.ID, runKind(run), orDash(run.Error))
	case store.RunHeld:
		return &exitError{code: exitHeld, err: fmt.Errorf("run %d is held by the guard: too many items flipped on %s; look with `keepwatch runs show %d`, then `keepwatch runs approve %d` or `keepwatch runs discard %d`",
			run.ID, strings.Join(heldBackends(run), ", "), run.ID, run.ID, run.ID)}
	}
	return nil
}

// startOrFollow starts task. When the same task is running already and
// req asks for nothing but a plain run of it (the task's name says full or
// not), that run (the import at start, a scheduled one) is what the command
// asked for: it answers that run instead, saying so on stderr.
func (r *remote) startOrFollow(cmd *cobra.Command, c *apiClient, task string, req api.RunRequest) (api.RunStarted, error) {
	var started api.RunStarted
	plain := len(req.Backends) == 0 && req.User == "" && !req.DryRun
	for attempt := 0; ; attempt++ {
		_, err := c.do(cmd.Context(), http.MethodPost, "/tasks/"+task+"/run", nil, req, &started)
		var ce *apiCallError
		if err == nil || !plain || !errors.As(err, &ce) || ce.status != http.StatusConflict || attempt == 2 {
			return started, err
		}
		var infos []tasks.TaskInfo
		if _, lerr := c.do(cmd.Context(), http.MethodGet, "/tasks", nil, nil, &infos); lerr != nil {
			return started, err
		}
		for _, in := range infos {
			if in.Name == task && in.Running && in.RunID != 0 {
				fmt.Fprintf(r.g.stderr, "%s is running already (run %d): following it\n", task, in.RunID)
				return api.RunStarted{RunID: in.RunID}, nil
			}
		}
		// It ended (or another task holds it) between the two calls: ask again.
	}
}

func heldBackends(run *store.Run) []string {
	var out []string
	for name, gc := range run.Guard {
		if gc.Held {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// waitRun polls run id until it ends, keeping one progress line on
// progress up to date. It returns the finished run and its JSON.
func (c *apiClient) waitRun(ctx context.Context, id uint64, progress io.Writer) (*store.Run, []byte, error) {
	path := "/runs/" + strconv.FormatUint(id, 10)
	last := ""
	defer func() {
		if last != "" {
			fmt.Fprintln(progress)
		}
	}()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		var run store.Run
		raw, err := c.do(ctx, http.MethodGet, path, nil, nil, &run)
		if errors.Is(err, context.Canceled) {
			return nil, nil, fmt.Errorf("stopped waiting; run %d goes on (follow it with `keepwatch runs show %d`)", id, id)
		}
		if err != nil {
			return nil, nil, err
		}
		if line := progressLine(&run); line != last {
			// Pad over a longer previous line.
			fmt.Fprintf(progress, "\r%-*s", len(last), line)
			last = line
		}
		if run.Status != store.RunRunning {
			return &run, raw, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("stopped waiting; run %d goes on (follow it with `keepwatch runs show %d`)", id, id)
		case <-tick.C:
		}
	}
}

func progressLine(run *store.Run) string {
	return fmt.Sprintf("run %d %s: %s  observed %s  changed %s  queued %s  written %s", run.ID, runKind(run), run.Status,
		count(run, "observed"), count(run, "changed"), count(run, "queued"), count(run, "written"))
}
