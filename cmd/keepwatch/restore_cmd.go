package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/keepwatch/keepwatch/core/store"
	"github.com/keepwatch/keepwatch/tasks"
)

// restoreLockWait bounds the wait for a database lock. The daemon holds its
// lock for as long as it runs, so a longer wait would only delay the refusal.
const restoreLockWait = 500 * time.Millisecond

// beforeRestoreStamp names the copy of the database a restore replaced.
const beforeRestoreStamp = "20060102T150405Z"

func init() {
	moreCommands = append(moreCommands, newRestoreCmd)
}

func newRestoreCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "restore [BACKUP]",
		Short: "List the database backups, or put one in place of the database (with the daemon stopped)",
		Long: "Without BACKUP, list the backups in <data_dir>/backups, newest first.\n\n" +
			"With BACKUP (`latest`, a name from that list, or a path), check that it is a sound\n" +
			"keepwatch database, keep the current database as keepwatch.db.before-restore-<time>\n" +
			"(restore that file to undo), and put the backup in its place. `keepwatch serve` holds\n" +
			"the database while it runs: stop it first.",
		Args: cobra.MaximumNArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			cfg, err := loadClientConfig(g.configPath(cmd), g.getenv)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return listBackups(g.stdout, cfg.Server.DataDir, asJSON)
			}
			res, err := restoreBackup(cfg.Server.DataDir, args[0], time.Now(), g.logger("restore"))
			if err != nil {
				return err
			}
			return printRestore(g.stdout, res, asJSON)
		}),
	}
	addJSONFlag(cmd, &asJSON)
	return cmd
}

func listBackups(w io.Writer, dataDir string, asJSON bool) error {
	backups, err := tasks.ListBackups(dataDir)
	if err != nil {
		return err
	}
	if asJSON {
		if backups == nil {
			backups = []tasks.Backup{}
		}
		return writeJSON(w, backups)
	}
	if len(backups) == 0 {
		fmt.Fprintf(w, "no backups in %s yet: `keepwatch backup` makes one while the daemon runs, as does the scheduled backup task\n",
			tasks.BackupDir(dataDir))
		return nil
	}
	tw := newTable(w)
	row(tw, "BACKUP", "CREATED", "SIZE", "RECORDS JSON")
	for _, b := range backups {
		row(tw, b.Name, showTime(b.CreatedAt), showBytes(b.Size), yesNo(b.RecordsJSON != ""))
	}
	row(tw)
	row(tw, "restore one with `keepwatch restore latest` or `keepwatch restore BACKUP`, with `keepwatch serve` stopped")
	return tw.Flush()
}

// restoreResult is what a restore did.
type restoreResult struct {
	Backup        string `json:"backup"`
	Database      string `json:"database"`
	Kept          string `json:"kept,omitempty"` // the replaced database; "" when there was none
	Records       int    `json:"records"`
	SchemaVersion int    `json:"schema_version"`
}

func printRestore(w io.Writer, res *restoreResult, asJSON bool) error {
	if asJSON {
		return writeJSON(w, res)
	}
	fmt.Fprintf(w, "restored %s (%d records, schema version %d) into %s\n", res.Backup, res.Records, res.SchemaVersion, res.Database)
	if res.Kept != "" {
		fmt.Fprintf(w, "the database it replaced is kept as %s (to go back: keepwatch restore %s)\n", res.Kept, res.Kept)
	}
	fmt.Fprintln(w, "start the daemon again with `keepwatch serve`")
	return nil
}

// restoreBackup replaces dataDir's database with the backup arg names. It
// checks the backup on a copy, then holds the current database's lock while
// it keeps that database beside it and swaps the checked copy in with one
// rename.
func restoreBackup(dataDir, arg string, now time.Time, log zerolog.Logger) (*restoreResult, error) {
	src, err := resolveBackup(dataDir, arg)
	if err != nil {
		return nil, err
	}
	dbPath := filepath.Join(dataDir, store.FileName)
	if same, err := sameFile(src, dbPath); err != nil || same {
		if err == nil {
			err = fmt.Errorf("%s is the database itself: name a backup (run `keepwatch restore` to list them)", src)
		}
		return nil, err
	}
	// Checked before the lock is taken: opening the current database
	// commits to it, and a refused restore leaves every byte alone.
	staged, err := stageBackup(src, dataDir)
	if err != nil {
		return nil, err
	}
	defer os.Remove(staged.path) // left only when the swap did not happen
	cur, err := lockDatabase(dbPath, log)
	if err != nil {
		return nil, err
	}
	if cur != nil {
		defer cur.Close()
	}

	res := &restoreResult{Backup: src, Database: dbPath, Records: staged.records, SchemaVersion: staged.schema}
	if _, err := os.Stat(dbPath); err == nil {
		res.Kept = dbPath + ".before-restore-" + now.UTC().Format(beforeRestoreStamp)
		if err := keepDatabase(cur, dbPath, res.Kept); err != nil {
			return nil, fmt.Errorf("keep the current database as %s: %w; nothing was restored", res.Kept, err)
		}
	}
	if err := os.Rename(staged.path, dbPath); err != nil {
		return nil, fmt.Errorf("put the backup in place of %s: %w", dbPath, err)
	}
	if err := syncDir(dataDir); err != nil {
		return nil, fmt.Errorf("restored %s, but syncing %s failed: %w", dbPath, dataDir, err)
	}
	return res, nil
}

// resolveBackup finds the file arg names: "latest", a name in the backups
// directory, or a path.
func resolveBackup(dataDir, arg string) (string, error) {
	dir := tasks.BackupDir(dataDir)
	if arg == "latest" {
		backups, err := tasks.ListBackups(dataDir)
		if err != nil {
			return "", err
		}
		if len(backups) == 0 {
			return "", fmt.Errorf("no backups in %s to restore", dir)
		}
		return backups[0].Path, nil
	}
	if !strings.ContainsRune(arg, filepath.Separator) {
		if p := filepath.Join(dir, arg); isRegular(p) {
			return p, nil
		}
	}
	info, err := os.Stat(arg)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("backup %q not found: it is neither a backup in %s nor a file (run `keepwatch restore` to list the backups)", arg, dir)
	case err != nil:
		return "", fmt.Errorf("backup %s: %w", arg, err)
	case !info.Mode().IsRegular():
		return "", fmt.Errorf("backup %s is not a regular file", arg)
	}
	return arg, nil
}

func isRegular(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

func sameFile(a, b string) (bool, error) {
	ia, err := os.Stat(a)
	if err != nil {
		return false, fmt.Errorf("backup %s: %w", a, err)
	}
	ib, err := os.Stat(b)
	if err != nil {
		return false, nil // no database yet
	}
	return os.SameFile(ia, ib), nil
}

// lockDatabase opens the current database to hold its lock for the whole
// restore. It returns nil when there is none, and when the file does not
// open for another reason than the lock (damaged, perhaps the very reason
// for the restore): that file is then kept byte for byte.
func lockDatabase(path string, log zerolog.Logger) (*store.Store, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	st, err := store.Open(path, store.Options{LockTimeout: restoreLockWait})
	switch {
	case errors.Is(err, store.ErrLocked):
		return nil, fmt.Errorf("%s is in use by a running keepwatch: stop the daemon (`keepwatch serve`) first, then run the restore again", path)
	case err != nil:
		log.Warn().Err(err).Str("database", path).Msg("the current database does not open; it is kept as it is before the restore")
		return nil, nil
	}
	return st, nil
}

// keepDatabase saves the database about to be replaced: a consistent copy
// through the store when it opened, the file as it is otherwise.
func keepDatabase(cur *store.Store, dbPath, kept string) error {
	if cur != nil {
		_, err := cur.BackupFile(kept)
		return err
	}
	tmp, err := copyToTemp(dbPath, filepath.Dir(kept), ".before-restore-*")
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, kept); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// stagedBackup is a checked copy of a backup in the data directory, ready
// to be renamed over the database.
type stagedBackup struct {
	path    string
	schema  int
	records int
}

// stageBackup checks src read-only, copies it into dataDir and opens the
// copy as the daemon would (running pending migrations on it, not on src).
func stageBackup(src, dataDir string) (*stagedBackup, error) {
	if _, err := store.Inspect(src); err != nil {
		return nil, fmt.Errorf("backup %w; nothing was changed", err)
	}
	tmp, err := copyToTemp(src, dataDir, ".restore-*.db")
	if err != nil {
		return nil, fmt.Errorf("copy backup %s into %s: %w", src, dataDir, err)
	}
	staged := &stagedBackup{path: tmp}
	st, err := store.Open(tmp, store.Options{LockTimeout: restoreLockWait})
	if err == nil {
		err = st.Check()
		if err == nil {
			staged.records, err = st.CountRecords()
		}
		if err == nil {
			staged.schema, err = st.SchemaVersionOnDisk()
		}
		if cerr := st.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("backup %s does not open as a keepwatch database: %w; nothing was changed", src, err)
	}
	return staged, nil
}

// copyToTemp copies src into a new file in dir (mode 0600) and syncs it.
func copyToTemp(src, dir, pattern string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(out.Name(), 0o600)
	}
	if err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeJSON prints v indented, for scripts.
func writeJSON(w io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return printJSON(w, raw)
}

// showBytes is a size for people: 812 B, 24.3 KiB, 1.5 MiB.
func showBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	f, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if f < 1024 {
			break
		}
		f, unit = f/1024, u
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + unit
}
