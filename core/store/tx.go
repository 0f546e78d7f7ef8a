package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/keepwatch/keepwatch/core/model"
)

// Tx is one store transaction. The engine does all of one merge through a
// single Tx so records, indexes, journal and outbox entries commit together.
// A Tx must not outlive the function it was passed to, and no plugin or
// network call may happen while it is open.
type Tx struct {
	tx *bolt.Tx
	// read remembers, for records read in this transaction, the index
	// entries they had, so PutRecord need not read and decode them again.
	read map[uint64]indexed
}

// indexed is what a stored record contributes to the two indexes.
type indexed struct {
	user string
	keys []string          // user+key index entries
	refs map[string]string // backend → remote id
}

func indexedOf(r *model.Record) indexed {
	ix := indexed{user: r.User, keys: indexKeys(r), refs: make(map[string]string, len(r.Refs))}
	for b, ref := range r.Refs {
		ix.refs[b] = ref.RemoteID
	}
	return ix
}

// ErrReadOnly is returned when a write is attempted in a View transaction.
var ErrReadOnly = errors.New("store: write in a read-only transaction")

// Update runs fn in a read-write transaction, committed when fn returns nil.
func (s *Store) Update(fn func(*Tx) error) error {
	return s.db.Update(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx}) })
}

// Batch is Update for many small concurrent callers: bbolt groups calls that
// arrive together into one commit (one fsync). fn may run more than once, so
// it must have no effect outside the transaction.
func (s *Store) Batch(fn func(*Tx) error) error {
	return s.db.Batch(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx}) })
}

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(*Tx) error) error {
	return s.db.View(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx}) })
}

func (t *Tx) bucket(name []byte) *bolt.Bucket { return t.tx.Bucket(name) }

// putJSON encodes v and stores it under key.
func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return b.Put(key, data)
}

// getJSON decodes the value under key into v. Decoding copies, so nothing of
// the transaction's memory escapes.
func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("decode value %x: %w", key, err)
	}
	return true, nil
}

// joinKey builds index keys "a\x00b\x00c". NUL cannot appear in user, backend
// or GUID names (config validation and GUID normalisation rule it out), so keys
// are unambiguous and prefix scans per user work.
func joinKey(parts ...string) []byte {
	n := len(parts) - 1
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

// --- records and their indexes ---

// Record returns the record with id, or ErrNotFound.
func (t *Tx) Record(id uint64) (*model.Record, error) {
	var r model.Record
	ok, err := getJSON(t.bucket(bucketRecords), u64(id), &r)
	if err != nil {
		return nil, fmt.Errorf("store: record %d: %w", id, err)
	}
	if !ok {
		return nil, fmt.Errorf("store: record %d: %w", id, ErrNotFound)
	}
	if t.tx.Writable() {
		if t.read == nil {
			t.read = map[uint64]indexed{}
		}
		t.read[id] = indexedOf(&r)
	}
	return &r, nil
}

// FindByRemote returns the id of user's record that backend knows as remoteID.
func (t *Tx) FindByRemote(user, backend, remoteID string) (uint64, bool) {
	v := t.bucket(bucketIdxRemote).Get(joinKey(user, backend, remoteID))
	if v == nil {
		return 0, false
	}
	return fromU64(v), true
}

// FindByKey returns the id of user's record indexed under key: a GUID
// ("imdb:tt…"), a relative GUID ("tvdb:121361/1/1") or a title key
// (model.Item.TitleKey).
func (t *Tx) FindByKey(user, key string) (uint64, bool) {
	v := t.bucket(bucketIdxGUID).Get(joinKey(user, key))
	if v == nil {
		return 0, false
	}
	return fromU64(v), true
}

// indexKeys lists every match key of a record: GUIDs, relative GUIDs and the
// title key.
func indexKeys(r *model.Record) []string {
	keys := make([]string, 0, len(r.Item.GUIDs)+len(r.Item.ShowGUIDs)+1)
	for _, g := range r.Item.GUIDs {
		keys = append(keys, string(g))
	}
	for _, g := range r.Item.RelativeGUIDs() {
		keys = append(keys, string(g))
	}
	if k := r.Item.TitleKey(); k != "" {
		keys = append(keys, k)
	}
	return keys
}

// PutRecord writes r, assigning an id when r.ID is 0, and brings both indexes
// up to date in the same transaction: keys the previous version had and r no
// longer has are removed, r's keys point at r.
func (t *Tx) PutRecord(r *model.Record) error {
	if !t.tx.Writable() {
		return ErrReadOnly
	}
	records := t.bucket(bucketRecords)
	var old *indexed
	if r.ID == 0 {
		id, err := records.NextSequence()
		if err != nil {
			return fmt.Errorf("store: next record id: %w", err)
		}
		r.ID = id
	} else if ix, ok := t.read[r.ID]; ok {
		old = &ix
	} else {
		var prev model.Record
		ok, err := getJSON(records, u64(r.ID), &prev)
		if err != nil {
			return err
		}
		if ok {
			ix := indexedOf(&prev)
			old = &ix
		}
	}
	r.V = model.RecordVersion
	if err := putJSON(records, u64(r.ID), r); err != nil {
		return fmt.Errorf("store: put record %d: %w", r.ID, err)
	}
	id := u64(r.ID)
	idxGUID, idxRemote := t.bucket(bucketIdxGUID), t.bucket(bucketIdxRemote)
	newKeys := indexKeys(r)
	if old != nil {
		for _, k := range old.keys {
			if !contains(newKeys, k) {
				if err := deleteIfPointsAt(idxGUID, joinKey(old.user, k), id); err != nil {
					return err
				}
			}
		}
		for backend, remote := range old.refs {
			if nr, ok := r.Refs[backend]; !ok || nr.RemoteID != remote {
				if err := deleteIfPointsAt(idxRemote, joinKey(old.user, backend, remote), id); err != nil {
					return err
				}
			}
		}
	}
	if t.read != nil {
		t.read[r.ID] = indexedOf(r)
	}
	for _, k := range newKeys {
		if err := putIfChanged(idxGUID, joinKey(r.User, k), id); err != nil {
			return err
		}
	}
	for backend, ref := range r.Refs {
		if ref.RemoteID == "" {
			continue
		}
		if err := putIfChanged(idxRemote, joinKey(r.User, backend, ref.RemoteID), id); err != nil {
			return err
		}
	}
	return nil
}

// DeleteRecord removes a record and the index entries pointing at it.
func (t *Tx) DeleteRecord(id uint64) error {
	r, err := t.Record(id)
	if err != nil {
		return err
	}
	key := u64(id)
	for _, k := range indexKeys(r) {
		if err := deleteIfPointsAt(t.bucket(bucketIdxGUID), joinKey(r.User, k), key); err != nil {
			return err
		}
	}
	for backend, ref := range r.Refs {
		if err := deleteIfPointsAt(t.bucket(bucketIdxRemote), joinKey(r.User, backend, ref.RemoteID), key); err != nil {
			return err
		}
	}
	delete(t.read, id)
	return t.bucket(bucketRecords).Delete(key)
}

func contains(keys []string, k string) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

func putIfChanged(b *bolt.Bucket, key, val []byte) error {
	if bytes.Equal(b.Get(key), val) {
		return nil // an unchanged put still dirties the page: skip it
	}
	return b.Put(key, val)
}

func deleteIfPointsAt(b *bolt.Bucket, key, id []byte) error {
	if bytes.Equal(b.Get(key), id) {
		return b.Delete(key)
	}
	return nil
}

// ForEachRecord calls fn for every record in id order; fn's record is a copy.
// Returning an error stops the walk.
func (t *Tx) ForEachRecord(fn func(*model.Record) error) error {
	return t.bucket(bucketRecords).ForEach(func(k, v []byte) error {
		var r model.Record
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("store: decode record %d: %w", fromU64(k), err)
		}
		return fn(&r)
	})
}

// RecordsAfter returns up to limit records with id > after, in id order: a
// page of a full walk that holds no transaction between pages.
func (s *Store) RecordsAfter(after uint64, limit int) ([]*model.Record, error) {
	var out []*model.Record
	err := s.View(func(t *Tx) error {
		c := t.bucket(bucketRecords).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			var r model.Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("store: decode record %d: %w", fromU64(k), err)
			}
			out = append(out, &r)
		}
		return nil
	})
	return out, err
}

// CountRecords returns the number of records.
func (s *Store) CountRecords() (int, error) {
	var n int
	err := s.View(func(t *Tx) error {
		n = t.bucket(bucketRecords).Stats().KeyN
		return nil
	})
	return n, err
}
