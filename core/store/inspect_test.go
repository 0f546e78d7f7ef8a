package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	s, err := Open(good, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.db")
	db, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("x")); return err }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("not a database\n", 500)), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		path, want string // want "" for a sound database
	}{
		{good, ""},
		{empty, "is empty"},
		{other, "without keepwatch's schema version"},
		{text, "is not a keepwatch database"},
		{filepath.Join(dir, "missing.db"), "cannot be read"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			before, _ := os.ReadFile(tt.path)
			v, err := Inspect(tt.path)
			switch {
			case tt.want == "" && (err != nil || v != SchemaVersion):
				t.Errorf("Inspect = %d, %v; want %d", v, err, SchemaVersion)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Inspect error %v; want it to start with the path and say %q", err, tt.want)
			}
			if after, _ := os.ReadFile(tt.path); string(after) != string(before) {
				t.Error("Inspect changed the file")
			}
		})
	}
}
