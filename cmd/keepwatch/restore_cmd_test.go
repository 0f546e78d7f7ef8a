package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
	"github.com/keepwatch/keepwatch/tasks"
)

// noSync is a tasks.Syncer for a scheduler that only makes backups.
type noSync struct{}

func (noSync) Import(context.Context, tasks.Request, func(uint64)) (*store.Run, error) {
	return nil, errors.New("no imports in this test")
}

func (noSync) Export(context.Context, tasks.Request, func(uint64)) (*store.Run, error) {
	return nil, errors.New("no exports in this test")
}

// restoreEnv is a data directory with a config pointing at it.
type restoreEnv struct {
	dataDir, cfg, db string
}

func newRestoreEnv(t *testing.T) *restoreEnv {
	t.Helper()
	dir := t.TempDir()
	e := &restoreEnv{dataDir: filepath.Join(dir, "data"), cfg: filepath.Join(dir, "keepwatch.yaml")}
	e.db = filepath.Join(e.dataDir, store.FileName)
	writeFile(t, e.cfg, fmt.Sprintf("server:\n  data_dir: %q\n", e.dataDir))
	return e
}

func (e *restoreEnv) open(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(e.db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// putMovie writes alice's record of one movie: a new one, or the state of
// the one with that title.
func putMovie(t *testing.T, st *store.Store, title string, watched bool) {
	t.Helper()
	recs, err := st.RecordsAfter(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	rec := &model.Record{User: "alice", Item: model.Item{Kind: model.KindMovie, Title: title,
		GUIDs: []model.GUID{model.GUID("imdb:" + strings.ToLower(title))}}}
	for _, r := range recs {
		if r.Item.Title == title {
			rec = r
		}
	}
	rec.State.Watched = watched
	if err := st.Update(func(tx *store.Tx) error { return tx.PutRecord(rec) }); err != nil {
		t.Fatal(err)
	}
}

// titles lists what the database at path holds, "title watched|unwatched".
func titles(t *testing.T, path string) []string {
	t.Helper()
	st, err := store.Open(path, store.Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.RecordsAfter(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		w := "unwatched"
		if r.State.Watched {
			w = "watched"
		}
		out = append(out, r.Item.Title+" "+w)
	}
	slices.Sort(out)
	return out
}

// backupNow makes a backup the way the daemon's backup task does.
func backupNow(t *testing.T, st *store.Store, dataDir string, at time.Time) string {
	t.Helper()
	sched, err := tasks.New(tasks.Options{Store: st, Syncer: noSync{}, DataDir: dataDir, Logger: zerolog.Nop(),
		Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer sched.Stop(context.Background())
	_, done, err := sched.Run(context.Background(), tasks.TaskBackup, tasks.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if run := <-done; run.Status != store.RunOK {
		t.Fatalf("backup run: %+v", run)
	}
	return filepath.Join(tasks.BackupDir(dataDir), "keepwatch-"+at.UTC().Format("20060102T150405Z")+".db")
}

// snapshot lists the data directory's files (backups/ aside) with their
// contents, to show a refused restore changed nothing.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// assertUnchanged reports a data directory that differs from its snapshot.
func assertUnchanged(t *testing.T, dir string, before map[string][]byte) {
	t.Helper()
	if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
		t.Errorf("the data directory changed:\n%s", diff)
	}
}

func TestRestore(t *testing.T) {
	at := time.Date(2025, 6, 1, 4, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		arg  func(backup string) string
	}{
		{"latest", func(string) string { return "latest" }},
		{"name in the backups directory", filepath.Base},
		{"path", func(b string) string { return b }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRestoreEnv(t)
			st := e.open(t)
			putMovie(t, st, "Alien", true)
			putMovie(t, st, "Heat", false)
			backup := backupNow(t, st, e.dataDir, at)
			// After the backup: one record changed, one added.
			putMovie(t, st, "Heat", true)
			putMovie(t, st, "Up", true)
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			changed := []string{"Alien watched", "Heat watched", "Up watched"}

			code, out, errOut := runInProcess(t, nil, "--config", e.cfg, "restore", tt.arg(backup))
			if code != exitOK {
				t.Fatalf("restore: exit %d: %s", code, errOut)
			}
			if diff := cmp.Diff([]string{"Alien watched", "Heat unwatched"}, titles(t, e.db)); diff != "" {
				t.Errorf("records after the restore (-want +got):\n%s", diff)
			}
			info, err := os.Stat(e.db)
			if err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("database after the restore: %v, %v; want mode 600", info, err)
			}
			kept, _ := filepath.Glob(e.db + ".before-restore-*")
			if len(kept) != 1 {
				t.Fatalf("kept databases %v, want one", kept)
			}
			for _, want := range []string{fmt.Sprintf("restored %s (2 records, schema version %d) into %s", backup, store.SchemaVersion, e.db),
				"kept as " + kept[0] + " (to go back: keepwatch restore " + kept[0] + ")"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if left, _ := filepath.Glob(filepath.Join(e.dataDir, ".restore-*")); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}

			// The restore can itself be undone.
			if code, _, errOut := runInProcess(t, nil, "--config", e.cfg, "restore", kept[0]); code != exitOK {
				t.Fatalf("undo: exit %d: %s", code, errOut)
			}
			if diff := cmp.Diff(changed, titles(t, e.db)); diff != "" {
				t.Errorf("records after undoing the restore (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRestoreRefusesWhileTheDaemonRuns(t *testing.T) {
	e := newRestoreEnv(t)
	st := e.open(t)
	putMovie(t, st, "Alien", true)
	backupNow(t, st, e.dataDir, time.Date(2025, 6, 1, 4, 0, 0, 0, time.UTC))
	putMovie(t, st, "Heat", true)
	defer st.Close() // held open, as serve holds it

	before := snapshot(t, e.dataDir)
	code, _, errOut := runInProcess(t, nil, "--config", e.cfg, "restore", "latest")
	want := e.db + " is in use by a running keepwatch: stop the daemon (`keepwatch serve`) first"
	if code != exitFailure || !strings.Contains(errOut, want) {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}
	assertUnchanged(t, e.dataDir, before)
}

func TestRestoreRefusesBadBackups(t *testing.T) {
	at := time.Date(2025, 6, 1, 4, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		// make writes the bad file from a good backup and returns its path.
		make func(t *testing.T, good, dir string) string
		why  string
	}{
		{"empty", func(t *testing.T, _, dir string) string {
			return writeBad(t, dir, "empty.db", nil)
		}, "is empty"},
		{"not a database", func(t *testing.T, _, dir string) string {
			return writeBad(t, dir, "notes.db", bytes.Repeat([]byte("not a database\n"), 1000))
		}, "is not a keepwatch database (invalid database)"},
		{"truncated", func(t *testing.T, good, dir string) string {
			b := readFile(t, good)
			return writeBad(t, dir, "truncated.db", b[:len(b)/2])
		}, "is truncated"},
		{"damaged pages", func(t *testing.T, good, dir string) string {
			b := readFile(t, good)
			// Pages 0-1 are bbolt's meta pages; garbage over the rest.
			for i := 2 * os.Getpagesize(); i < len(b); i++ {
				b[i] = byte(i * 7)
			}
			return writeBad(t, dir, "damaged.db", b)
		}, "is damaged"},
		{"another program's bbolt file", func(t *testing.T, _, dir string) string {
			path := filepath.Join(dir, "other.db")
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			err = db.Update(func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket([]byte("settings"))
				if err != nil {
					return err
				}
				return b.Put([]byte("theme"), []byte("dark"))
			})
			if err != nil {
				t.Fatal(err)
			}
			return path
		}, "is not a keepwatch database (a bbolt file without keepwatch's schema version)"},
		{"newer schema", func(t *testing.T, good, dir string) string {
			path := writeBad(t, dir, "newer.db", readFile(t, good))
			st, err := store.Open(path, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			// What a later keepwatch would have written.
			if err := st.Update(func(tx *store.Tx) error { return tx.PutMeta("schema_version", []byte("99")) }); err != nil {
				t.Fatal(err)
			}
			return path
		}, fmt.Sprintf("has schema version 99, newer than this keepwatch understands (%d): upgrade keepwatch, or restore an older backup", store.SchemaVersion)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRestoreEnv(t)
			st := e.open(t)
			putMovie(t, st, "Alien", true)
			good := backupNow(t, st, e.dataDir, at)
			putMovie(t, st, "Heat", true)
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			bad := tt.make(t, good, t.TempDir())

			before := snapshot(t, e.dataDir)
			code, _, errOut := runInProcess(t, nil, "--config", e.cfg, "restore", bad)
			want := "backup " + bad + " " + tt.why
			if code != exitFailure || !strings.Contains(errOut, want) || !strings.Contains(errOut, "nothing was changed") {
				t.Errorf("exit %d, stderr %q; want 1 and %q, nothing was changed", code, errOut, want)
			}
			assertUnchanged(t, e.dataDir, before)
		})
	}
}

func TestRestoreUsageErrors(t *testing.T) {
	e := newRestoreEnv(t)
	st := e.open(t)
	putMovie(t, st, "Alien", true)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	backups := tasks.BackupDir(e.dataDir)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no backup of that name", []string{"nosuch.db"}, exitFailure,
			`backup "nosuch.db" not found: it is neither a backup in ` + backups + " nor a file (run `keepwatch restore` to list the backups)"},
		{"latest without backups", []string{"latest"}, exitFailure, "no backups in " + backups + " to restore"},
		{"the database itself", []string{e.db}, exitFailure, e.db + " is the database itself: name a backup"},
		{"two backups", []string{"a.db", "b.db"}, exitUsage, "accepts at most 1 arg(s), received 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, e.dataDir)
			code, _, errOut := runInProcess(t, nil, append([]string{"--config", e.cfg, "restore"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tt.code, tt.want)
			}
			assertUnchanged(t, e.dataDir, before)
		})
	}
}

func TestRestoreList(t *testing.T) {
	displayZone = time.UTC
	e := newRestoreEnv(t)
	dir := tasks.BackupDir(e.dataDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Listing reads names and sizes only: the files need not be databases.
	for name, size := range map[string]int{
		"keepwatch-20250530T040000Z.db":           32768,
		"keepwatch-20250530T040000Z.records.json": 900,
		"keepwatch-20250531T040000Z.db":           1536 << 10,
		"keepwatch-20250601T040000Z.db":           65536,
		"keepwatch-20250601T040000Z.records.json": 1800,
		"keepwatch-before-upgrade.db":             10,
	} {
		writeFile(t, filepath.Join(dir, name), strings.Repeat("x", size))
	}
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{"table", nil, "restore-list"},
		{"json", []string{"--json"}, "restore-list-json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runInProcess(t, nil, append([]string{"--config", e.cfg, "restore"}, tt.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			compareCLIGolden(t, tt.golden, strings.ReplaceAll(out, e.dataDir, "DATA_DIR"))
		})
	}

	empty := newRestoreEnv(t)
	code, out, _ := runInProcess(t, nil, "--config", empty.cfg, "restore")
	want := "no backups in " + tasks.BackupDir(empty.dataDir) + " yet: `keepwatch backup` makes one while the daemon runs, as does the scheduled backup task\n"
	if code != exitOK || out != want {
		t.Errorf("empty list: exit %d, %q; want 0, %q", code, out, want)
	}
	code, out, _ = runInProcess(t, nil, "--config", empty.cfg, "restore", "--json")
	if code != exitOK || out != "[]\n" {
		t.Errorf("empty list --json: exit %d, %q; want 0, []", code, out)
	}
}

func writeBad(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
