package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileName is the database file's name inside the data directory.
const FileName = "keepwatch.db"

// DefaultLockTimeout bounds how long Open waits for another process to release
// the file lock before it gives up with ErrLocked.
const DefaultLockTimeout = 3 * time.Second

// ErrLocked is returned by Open when another process holds the database.
var ErrLocked = errors.New("database is in use by another process")

// ErrNotFound is returned when a keyed lookup finds nothing.
var ErrNotFound = errors.New("not found")

// Options tune Open. The zero value is ready to use.
type Options struct {
	// LockTimeout overrides DefaultLockTimeout.
	LockTimeout time.Duration
	// NoSync skips fsync after each commit. Only benchmarks and throwaway
	// stores should set it: a crash may lose acknowledged work.
	NoSync bool
	// BatchDelay is how long a Batch waits for more callers before it
	// commits (bbolt's default, 10 ms, when zero). Group commit trades this
	// latency for one fsync per group of concurrent webhooks.
	BatchDelay time.Duration
}

// Store owns the bbolt database. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
}

// Open opens (creating when absent) the database at path with mode 0600, creates
// missing buckets and runs pending migrations. When another process holds the
// file it fails after the lock timeout with an error wrapping ErrLocked.
func Open(path string, opts Options) (*Store, error) {
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create directory for %s: %w", path, err)
	}
	db, err := openLocked(path, &bolt.Options{Timeout: timeout, NoSync: opts.NoSync, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("store: open %s: %w (is another keepwatch running with the same data_dir?)", path, ErrLocked)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if opts.BatchDelay > 0 {
		db.MaxBatchDelay = opts.BatchDelay
	}
	s := &Store{db: db, path: path}
	if err := s.init(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: initialise %s: %w", path, err)
	}
	return s, nil
}

// openLocked opens path with bbolt and makes sure the file locked is still
// the one at path. A restore renames a new file over the database while it
// holds the old one's lock; a process that opened the old file meanwhile
// would otherwise get its lock afterwards and run on an unlinked file,
// writing where nobody will ever read.
func openLocked(path string, opts *bolt.Options) (*bolt.DB, error) {
	for range 3 {
		// bbolt does not expose its file: the file at path before and after
		// the open (the lock wait) being the same one means it is the file
		// opened, since a rename only ever puts a new file there.
		before, statErr := os.Stat(path)
		db, err := bolt.Open(path, 0o600, opts)
		if err != nil {
			return nil, err
		}
		after, err := os.Stat(path)
		if err != nil {
			_ = db.Close()
			return nil, err
		}
		if statErr != nil || os.SameFile(before, after) {
			return db, nil // created by this open, or unchanged
		}
		_ = db.Close() // replaced while we waited: open what is there now
	}
	return nil, errors.New("the file was replaced while it was being opened, three times; try again")
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Close releases the database and its file lock.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", s.path, err)
	}
	return nil
}

// Check reports whether the store can serve a read transaction; /readyz uses it.
func (s *Store) Check() error {
	return s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return errors.New("store: meta bucket missing")
		}
		return nil
	})
}

// Backup writes a consistent copy of the whole database to w while the store
// keeps serving (a read transaction pins one snapshot). It returns the bytes
// written.
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("store: backup: %w", err)
	}
	return n, nil
}

// BackupFile writes a consistent copy to path (mode 0600) through a temporary
// file renamed into place, so a crash never leaves a half-written backup under
// the final name.
func (s *Store) BackupFile(path string) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".backup-*")
	if err != nil {
		return 0, fmt.Errorf("store: backup to %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	n, err := s.Backup(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return 0, fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return n, nil
}
