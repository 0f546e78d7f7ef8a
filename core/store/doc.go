// Package store owns keepwatch's state file: one bbolt database
// (<data_dir>/keepwatch.db, mode 0600) holding records and their indexes, the
// webhook inbox and delivery outcomes, the per-backend outbox, the journal, runs,
// held guard changes, webhook tokens and counters.
//
// One Store owns the *bolt.DB. Every exported method runs in its own
// transaction, copies bytes out before the transaction ends, and never calls a
// plugin or the network while a transaction is open. Secondary indexes
// (user+GUID → record, user+backend+remote id → record) are written in the same
// transaction as the record they point at.
//
// Values are JSON with a schema version; bucket names carry a version suffix so
// a future layout can live beside the current one while a migration copies data
// across. Migrations are ordered and recorded in the meta bucket.
package store
