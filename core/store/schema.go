package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// Bucket names carry a layout version: a new layout gets new buckets that a
// migration fills, so the old data is never rewritten in place.
var (
	bucketMeta       = []byte("meta.v1")
	bucketRecords    = []byte("records.v1")    // record id → Record JSON
	bucketIdxGUID    = []byte("idx_guid.v1")   // user \x00 guid → record id
	bucketIdxRemote  = []byte("idx_remote.v1") // user \x00 backend \x00 remote id → record id
	bucketInbox      = []byte("inbox.v1")      // delivery id → Delivery JSON, pending only
	bucketDeliveries = []byte("deliveries.v1") // delivery id → Delivery JSON (outcome), newest kept until pruned
	bucketOutbox     = []byte("outbox.v1")     // nested per backend: record id → OutboxEntry JSON
	bucketJournal    = []byte("journal.v1")    // origin kind | origin id | seq → JournalEntry JSON
	bucketRuns       = []byte("runs.v1")       // run id → Run JSON
	bucketHeld       = []byte("held.v1")       // run id | seq → HeldChange JSON
	bucketTokens     = []byte("tokens.v1")     // user \x00 backend → Token JSON
	bucketIdxToken   = []byte("idx_token.v1")  // sha256(token) → user \x00 backend
	bucketStats      = []byte("stats.v1")      // backend → BackendStats JSON
	bucketUnmatched  = []byte("unmatched.v1")  // backend \x00 remote id → Unmatched JSON
	// record id | seq → journal key: a record's history without scanning
	// every origin (schema 2).
	bucketIdxJournal = []byte("idx_journal_record.v1")
)

var allBuckets = [][]byte{
	bucketMeta, bucketRecords, bucketIdxGUID, bucketIdxRemote, bucketInbox, bucketDeliveries,
	bucketOutbox, bucketJournal, bucketRuns, bucketHeld, bucketTokens, bucketIdxToken,
	bucketStats, bucketUnmatched,
}

var keySchemaVersion = []byte("schema_version")

// SchemaVersion is the layout this build writes. Opening a database written by
// a newer build fails rather than guess at data it does not understand.
const SchemaVersion = 2

// migration moves a database from version From to From+1 inside one
// transaction; a failure rolls the whole step back.
type migration struct {
	From  int
	Name  string
	Apply func(tx *bolt.Tx) error
}

// migrations run in order; append only. Version 0 is an empty file.
var migrations = []migration{
	{From: 0, Name: "create v1 buckets", Apply: func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	}},
	{From: 1, Name: "index the journal by record", Apply: func(tx *bolt.Tx) error {
		idx, err := tx.CreateBucketIfNotExists(bucketIdxJournal)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketJournal).ForEach(func(k, v []byte) error {
			var ev struct {
				RecordID uint64 `json:"record_id"`
				Seq      uint64 `json:"seq"`
			}
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("decode journal %x: %w", k, err)
			}
			if ev.RecordID == 0 {
				return nil
			}
			return idx.Put(journalIndexKey(ev.RecordID, ev.Seq), k)
		})
	}},
}

func (s *Store) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		version := 0
		if v := meta.Get(keySchemaVersion); v != nil {
			version, err = strconv.Atoi(string(v))
			if err != nil {
				return fmt.Errorf("meta %s is %q, not a number", keySchemaVersion, v)
			}
		}
		if version > SchemaVersion {
			return fmt.Errorf("database schema version %d is newer than this keepwatch understands (%d): upgrade keepwatch or restore an older backup", version, SchemaVersion)
		}
		for _, m := range migrations {
			if m.From < version {
				continue
			}
			if err := m.Apply(tx); err != nil {
				return fmt.Errorf("migration %d→%d (%s): %w", m.From, m.From+1, m.Name, err)
			}
			version = m.From + 1
		}
		return meta.Put(keySchemaVersion, []byte(strconv.Itoa(version)))
	})
}

// SchemaVersionOnDisk returns the schema version recorded in the file.
func (s *Store) SchemaVersionOnDisk() (int, error) {
	var v int
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		v, err = strconv.Atoi(string(tx.Bucket(bucketMeta).Get(keySchemaVersion)))
		return err
	})
	return v, err
}

// u64 encodes n big-endian so bbolt's byte order is numeric order.
func u64(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

func fromU64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
