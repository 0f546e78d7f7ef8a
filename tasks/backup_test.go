package tasks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
)

var t0 = time.Date(2025, 6, 1, 4, 0, 0, 0, time.UTC)

func putRecords(t *testing.T, st *store.Store, n int) {
	t.Helper()
	err := st.Update(func(tx *store.Tx) error {
		for i := range n {
			r := &model.Record{User: "alice", Item: model.Item{Kind: model.KindMovie, Title: fmt.Sprintf("Movie %d", i),
				GUIDs: []model.GUID{model.GUID(fmt.Sprintf("imdb:tt%07d", i))}}, State: model.State{Watched: i%2 == 0}}
			if err := tx.PutRecord(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func backupNames(t *testing.T, dataDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(BackupDir(dataDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// recordsFile is the layout of a .records.json backup.
type recordsFile struct {
	Format        string         `json:"format"`
	Version       int            `json:"version"`
	RecordVersion int            `json:"record_version"`
	CreatedAt     time.Time      `json:"created_at"`
	Records       []model.Record `json:"records"`
}

func TestBackupWritesDatabaseAndRecords(t *testing.T) {
	for _, n := range []int{0, 1, recordsPage, recordsPage*2 + 7} {
		t.Run(fmt.Sprintf("%d records", n), func(t *testing.T) {
			f := newFixture(t, nil, (&clock{t: t0, step: time.Minute}).Now)
			putRecords(t, f.st, n)
			run := f.runAndWait(t, "backup", Request{})
			if run.Kind != "backup" || run.Status != store.RunOK || run.Error != "" {
				t.Fatalf("backup run: %+v", run)
			}
			names := backupNames(t, f.dataDir)
			if len(names) != 2 {
				t.Fatalf("backup dir holds %v, want one .db and one .records.json", names)
			}
			var dbPath, jsonPath string
			var size int64
			for _, name := range names {
				p := filepath.Join(BackupDir(f.dataDir), name)
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
				}
				size += fi.Size()
				switch {
				case isBackupName(name, backupDBExt):
					dbPath = p
				case isBackupName(name, backupJSONExt):
					jsonPath = p
				}
			}
			if dbPath == "" || jsonPath == "" {
				t.Fatalf("backup names %v do not follow keepwatch-<stamp>.db / .records.json", names)
			}
			if run.Counts["records"] != n || run.Counts["bytes"] != int(size) {
				t.Errorf("counts %v, want records %d bytes %d", run.Counts, n, size)
			}

			copied, err := store.Open(dbPath, store.Options{})
			if err != nil {
				t.Fatalf("open the .db backup: %v", err)
			}
			defer copied.Close()
			if got, err := copied.CountRecords(); err != nil || got != n {
				t.Errorf("the .db backup holds %d records (%v), want %d", got, err, n)
			}

			data, err := os.ReadFile(jsonPath)
			if err != nil {
				t.Fatal(err)
			}
			var rf recordsFile
			if err := json.Unmarshal(data, &rf); err != nil {
				t.Fatalf("the records backup is not JSON: %v", err)
			}
			if rf.Format != recordsFormat || rf.Version != recordsVersion || rf.RecordVersion != model.RecordVersion || rf.CreatedAt.IsZero() {
				t.Errorf("records header %+v", rf)
			}
			want, err := f.st.RecordsAfter(0, n+1)
			if err != nil {
				t.Fatal(err)
			}
			var got []*model.Record
			for i := range rf.Records {
				got = append(got, &rf.Records[i])
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("records in the JSON backup (-store +backup):\n%s", diff)
			}
		})
	}
}

func TestBackupKeepsTheNewest(t *testing.T) {
	for _, tc := range []struct {
		keep, runs int
	}{{1, 3}, {2, 4}, {3, 2}} {
		t.Run(fmt.Sprintf("keep %d of %d", tc.keep, tc.runs), func(t *testing.T) {
			cfg := Config{"backup": {Schedule: "@daily", Enabled: true, Keep: tc.keep}}
			f := newFixture(t, cfg, (&clock{t: t0, step: time.Minute}).Now)
			putRecords(t, f.st, 3)
			foreign := filepath.Join(BackupDir(f.dataDir), "keepwatch-before-upgrade.db")
			var all []string
			for i := range tc.runs {
				run := f.runAndWait(t, "backup", Request{})
				if i == 0 {
					if err := os.WriteFile(foreign, []byte("mine"), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				wantDeleted := 0
				if i >= tc.keep {
					wantDeleted = 2
				}
				if run.Status != store.RunOK || run.Counts["deleted"] != wantDeleted {
					t.Errorf("backup %d: %+v, want ok with %d deleted", i, run, wantDeleted)
				}
				for _, name := range backupNames(t, f.dataDir) {
					if !slices.Contains(all, name) {
						all = append(all, name)
					}
				}
			}
			slices.Sort(all)
			var want []string
			for _, name := range all {
				if strings.HasSuffix(name, backupDBExt) && isBackupName(name, backupDBExt) {
					want = append(want, name, strings.TrimSuffix(name, backupDBExt)+backupJSONExt)
				}
			}
			want = append(want[len(want)-2*min(tc.keep, tc.runs):], filepath.Base(foreign))
			got := backupNames(t, f.dataDir)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("backups kept (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBackupDryRunWritesNothing(t *testing.T) {
	cfg := Config{"backup": {Schedule: "@daily", Enabled: true, Keep: 2}}
	f := newFixture(t, cfg, (&clock{t: t0, step: time.Minute}).Now)
	putRecords(t, f.st, 5)
	for range 3 {
		f.runAndWait(t, "backup", Request{})
	}
	before := backupNames(t, f.dataDir)
	run := f.runAndWait(t, "backup", Request{DryRun: true})
	// Two kept of each kind; a new one would push one of each out.
	if run.Status != store.RunOK || !run.DryRun || run.Counts["records"] != 5 || run.Counts["deleted"] != 2 {
		t.Errorf("dry-run backup: %+v, want ok, records 5, deleted 2", run)
	}
	if diff := cmp.Diff(before, backupNames(t, f.dataDir)); diff != "" {
		t.Errorf("a dry run changed the backups (-before +after):\n%s", diff)
	}
}

func TestBackupDryRunWithoutBackupDir(t *testing.T) {
	f := newFixture(t, nil, nil)
	run := f.runAndWait(t, "backup", Request{DryRun: true})
	if run.Status != store.RunOK || run.Counts["deleted"] != 0 {
		t.Errorf("dry run before any backup: %+v", run)
	}
	if _, err := os.Stat(BackupDir(f.dataDir)); !os.IsNotExist(err) {
		t.Errorf("a dry run created the backup directory (%v)", err)
	}
}

func TestBackupFailureIsAFailedRun(t *testing.T) {
	f := newFixture(t, nil, nil)
	// A file where the backup directory should be.
	if err := os.WriteFile(BackupDir(f.dataDir), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := f.runAndWait(t, "backup", Request{})
	if run.Status != store.RunFailed || !strings.Contains(run.Error, "backups") {
		t.Errorf("backup into a file: %+v, want failed naming the directory", run)
	}
}
