package tasks

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
)

// Backup file names: keepwatch-<stamp>.db and keepwatch-<stamp>.records.json
// in DataDir/backups. The stamp is UTC and fixed-width, so names sort in time
// order.
const (
	backupPrefix   = "keepwatch-"
	backupDBExt    = ".db"
	backupJSONExt  = ".records.json"
	backupStamp    = "20060102T150405Z"
	recordsFormat  = "keepwatch.records"
	recordsVersion = 1
	// recordsPage is how many records the JSON export reads per transaction.
	recordsPage = 500
)

// BackupDir returns where backups of dataDir are written.
func BackupDir(dataDir string) string { return filepath.Join(dataDir, "backups") }

// recordRun runs body as a run of kind in the history: stored running, started
// called with its id, then ended ok or failed with the counts body filled in.
func (s *Scheduler) recordRun(kind string, req Request, started func(uint64), body func(counts map[string]int) error) (*store.Run, error) {
	run := &store.Run{Kind: kind, DryRun: req.DryRun, Status: store.RunRunning, StartedAt: s.now(), Counts: map[string]int{}}
	if err := s.store.CreateRun(run); err != nil {
		return nil, fmt.Errorf("tasks: %s: create run: %w", kind, err)
	}
	started(run.ID)
	err := body(run.Counts)
	run.EndedAt, run.Status = s.now(), store.RunOK
	if err != nil {
		run.Status, run.Error = store.RunFailed, err.Error()
	}
	if perr := s.store.PutRun(run); perr != nil {
		return nil, fmt.Errorf("tasks: %s: finish run %d: %w", kind, run.ID, perr)
	}
	return run, err
}

// backup writes a hot copy of the database and a portable JSON of every
// record, then deletes all but the newest keep of each. A dry run writes and
// deletes nothing; it counts the records and the backups it would delete.
func (s *Scheduler) backup(ctx context.Context, req Request, started func(uint64), keep int) (*store.Run, error) {
	return s.recordRun(TaskBackup, req, started, func(counts map[string]int) error {
		dir := BackupDir(s.dataDir)
		if req.DryRun {
			n, err := s.store.CountRecords()
			if err != nil {
				return fmt.Errorf("backup: count records: %w", err)
			}
			counts["records"] = n
			// The backup not written would have been one of the keep.
			counts["deleted"], err = rotateBackups(dir, keep-1, true)
			return err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("backup: create %s: %w", dir, err)
		}
		stamp := s.now().UTC().Format(backupStamp)
		dbBytes, err := s.store.BackupFile(filepath.Join(dir, backupPrefix+stamp+backupDBExt))
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		counts["bytes"] = int(dbBytes)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		n, jsonBytes, err := writeRecordsJSON(ctx, s.store, filepath.Join(dir, backupPrefix+stamp+backupJSONExt), s.now())
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		counts["records"] = n
		counts["bytes"] += int(jsonBytes)
		counts["deleted"], err = rotateBackups(dir, keep, false)
		return err
	})
}

// writeRecordsJSON streams every record to path, one page of records per
// read transaction, through a temporary file renamed into place (mode 0600).
// It returns the records and bytes written.
//
// The layout is one object whose "records" array holds one record per line:
// readable by any JSON parser, and by line tools after the header.
func writeRecordsJSON(ctx context.Context, st *store.Store, path string, createdAt time.Time) (int, int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".records-*")
	if err != nil {
		return 0, 0, fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	n, err := streamRecords(ctx, st, tmp, createdAt)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	var size int64
	if err == nil {
		var fi os.FileInfo
		if fi, err = os.Stat(tmp.Name()); err == nil {
			size = fi.Size()
		}
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("write %s: %w", path, err)
	}
	return n, size, nil
}

func streamRecords(ctx context.Context, st *store.Store, f *os.File, createdAt time.Time) (int, error) {
	w := bufio.NewWriterSize(f, 64<<10)
	header, err := json.Marshal(struct {
		Format        string    `json:"format"`
		Version       int       `json:"version"`
		RecordVersion int       `json:"record_version"`
		CreatedAt     time.Time `json:"created_at"`
	}{recordsFormat, recordsVersion, model.RecordVersion, createdAt.UTC()})
	if err != nil {
		return 0, err
	}
	// Open the header object and add the records array to it.
	w.Write(header[:len(header)-1])
	w.WriteString(`,"records":[`)
	n := 0
	var after uint64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		page, err := st.RecordsAfter(after, recordsPage)
		if err != nil {
			return n, err
		}
		for _, r := range page {
			data, err := json.Marshal(r)
			if err != nil {
				return n, fmt.Errorf("encode record %d: %w", r.ID, err)
			}
			if n > 0 {
				w.WriteByte(',')
			}
			w.WriteByte('\n')
			w.Write(data)
			n++
		}
		if len(page) < recordsPage {
			break
		}
		after = page[len(page)-1].ID
	}
	w.WriteString("\n]}\n")
	// bufio.Writer keeps its first error: Flush reports any write above.
	return n, w.Flush()
}

// rotateBackups deletes all but the newest keep backups of each kind (.db
// and .records.json) in dir and returns how many it deleted; with dryRun it
// only counts. Only names this package writes are touched: a copy a person
// saved there under another name stays.
func rotateBackups(dir string, keep int, dryRun bool) (int, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("backup: list %s: %w", dir, err)
	}
	deleted := 0
	for _, ext := range []string{backupDBExt, backupJSONExt} {
		var names []string
		for _, e := range entries {
			if isBackupName(e.Name(), ext) && e.Type().IsRegular() {
				names = append(names, e.Name())
			}
		}
		slices.Sort(names)
		for len(names) > keep {
			old := names[0]
			names = names[1:]
			if !dryRun {
				if err := os.Remove(filepath.Join(dir, old)); err != nil {
					return deleted, fmt.Errorf("backup: delete old %s: %w", old, err)
				}
			}
			deleted++
		}
	}
	return deleted, nil
}

// isBackupName says whether name is keepwatch-<stamp><ext>.
func isBackupName(name, ext string) bool {
	stamp, ok := strings.CutPrefix(name, backupPrefix)
	if !ok {
		return false
	}
	if stamp, ok = strings.CutSuffix(stamp, ext); !ok {
		return false
	}
	_, err := time.Parse(backupStamp, stamp)
	return err == nil
}

// Backup is one database backup in BackupDir, as ListBackups finds it.
type Backup struct {
	Name      string    `json:"name"` // keepwatch-<stamp>.db
	Path      string    `json:"path"`
	CreatedAt time.Time `json:"created_at"` // the stamp in the name, UTC
	Size      int64     `json:"size"`       // bytes of the .db
	// RecordsJSON is the portable JSON written with it; "" when there is none.
	RecordsJSON string `json:"records_json,omitempty"`
}

// ListBackups lists the database backups of dataDir, newest first. Only
// names this package writes count; no backups directory means no backups.
func ListBackups(dataDir string) ([]Backup, error) {
	dir := BackupDir(dataDir)
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list backups in %s: %w", dir, err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = e.Type().IsRegular()
	}
	var out []Backup
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !isBackupName(name, backupDBExt) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("list backups in %s: %w", dir, err)
		}
		stamp := strings.TrimSuffix(strings.TrimPrefix(name, backupPrefix), backupDBExt)
		created, _ := time.Parse(backupStamp, stamp) // isBackupName parsed it
		b := Backup{Name: name, Path: filepath.Join(dir, name), CreatedAt: created, Size: info.Size()}
		if companion := backupPrefix + stamp + backupJSONExt; names[companion] {
			b.RecordsJSON = filepath.Join(dir, companion)
		}
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b Backup) int { return strings.Compare(b.Name, a.Name) })
	return out, nil
}
