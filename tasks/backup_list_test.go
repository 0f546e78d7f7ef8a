package tasks

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestListBackups(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, f *fixture, c *clock)
		want  func(dir string, sizes map[string]int64) []Backup
	}{
		{
			name:  "no backups directory",
			setup: func(*testing.T, *fixture, *clock) {},
			want:  func(string, map[string]int64) []Backup { return nil },
		},
		{
			name: "newest first, companions found, other names ignored",
			setup: func(t *testing.T, f *fixture, c *clock) {
				for i := range 3 {
					c.mu.Lock()
					c.t = t0.Add(time.Duration(i) * time.Minute)
					c.mu.Unlock()
					f.runAndWait(t, "backup", Request{})
				}
				dir := BackupDir(f.dataDir)
				// The oldest lost its JSON; a copy saved by hand and a
				// directory shaped like a backup are not backups.
				if err := os.Remove(filepath.Join(dir, "keepwatch-20250601T040000Z.records.json")); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "keepwatch-mine.db"), []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(filepath.Join(dir, "keepwatch-20250701T000000Z.db"), 0o700); err != nil {
					t.Fatal(err)
				}
			},
			want: func(dir string, sizes map[string]int64) []Backup {
				b := func(stamp string, at time.Time, json bool) Backup {
					name := "keepwatch-" + stamp + ".db"
					out := Backup{Name: name, Path: filepath.Join(dir, name), CreatedAt: at, Size: sizes[name]}
					if json {
						out.RecordsJSON = filepath.Join(dir, "keepwatch-"+stamp+".records.json")
					}
					return out
				}
				return []Backup{
					b("20250601T040200Z", t0.Add(2*time.Minute), true),
					b("20250601T040100Z", t0.Add(time.Minute), true),
					b("20250601T040000Z", t0, false),
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: t0}
			f := newFixture(t, nil, c.Now)
			putRecords(t, f.st, 2)
			tt.setup(t, f, c)
			sizes := map[string]int64{}
			entries, _ := os.ReadDir(BackupDir(f.dataDir))
			for _, e := range entries {
				if info, err := e.Info(); err == nil {
					sizes[e.Name()] = info.Size()
				}
			}
			got, err := ListBackups(f.dataDir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want(BackupDir(f.dataDir), sizes), got); diff != "" {
				t.Errorf("ListBackups (-want +got):\n%s", diff)
			}
		})
	}
}
