package store

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// inspectLockWait bounds the wait for a file another program holds open.
const inspectLockWait = 500 * time.Millisecond

// Inspect checks, read-only, that the file at path is a sound keepwatch
// database this build can open, and returns its schema version. It changes
// nothing, where Open would make any bbolt file, even an empty one, into a
// fresh keepwatch database: a restore checks a backup with it first. Its
// errors start with path ("… is empty", "… is damaged: …").
func Inspect(path string) (schema int, err error) {
	info, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("%s cannot be read: %w", path, err)
	}
	if info.Size() == 0 {
		return 0, fmt.Errorf("%s is empty", path)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: inspectLockWait})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return 0, fmt.Errorf("%s is in use by a running program (is it a live database rather than a backup?)", path)
	case err != nil:
		return 0, fmt.Errorf("%s is not a keepwatch database (%v)", path, err)
	}
	defer db.Close()
	defer func() {
		// bbolt panics on some damage it meets outside Check.
		if r := recover(); r != nil {
			err = fmt.Errorf("%s is damaged: %v", path, r)
		}
	}()
	err = db.View(func(tx *bolt.Tx) error {
		// A truncated copy (a full disk, an interrupted transfer) must be
		// caught before anything reads its pages: they lie past the end of
		// the file.
		if info.Size() < tx.Size() {
			return fmt.Errorf("%s is truncated: %d bytes of the %d its database needs", path, info.Size(), tx.Size())
		}
		var problems []string
		for e := range tx.Check() { // drained whole: Check's goroutine ends when the channel closes
			problems = append(problems, e.Error())
		}
		if len(problems) > 0 {
			if len(problems) > 3 {
				problems = append(problems[:3], fmt.Sprintf("and %d more", len(problems)-3))
			}
			return fmt.Errorf("%s is damaged: %s", path, strings.Join(problems, "; "))
		}
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("%s is not a keepwatch database (a bbolt file without keepwatch's schema version)", path)
		}
		raw := meta.Get(keySchemaVersion)
		v, err := strconv.Atoi(string(raw))
		switch {
		case err != nil:
			return fmt.Errorf("%s is not a keepwatch database (schema version %q)", path, raw)
		case v > SchemaVersion:
			return fmt.Errorf("%s has schema version %d, newer than this keepwatch understands (%d): upgrade keepwatch, or restore an older backup", path, v, SchemaVersion)
		}
		schema = v
		return nil
	})
	return schema, err
}
