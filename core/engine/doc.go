// Package engine is keepwatch's sync logic: it matches observations to
// records, merges them by DESIGN.md's three-way rules, holds mass flips for a
// person to approve (the guard), journals every change so a run can be undone,
// plans writes into per-backend outboxes and drains them through a Writer,
// and orchestrates imports from a Source page by page.
//
// The engine talks to backends only through the narrow Source and Writer
// interfaces; the plugin host adapts real plugins to them. All merging of one
// page or one webhook delivery happens in one store transaction, and no
// transaction is open while a backend is called.
//
// A write is planned to a backend that has a reference to the item, or that
// can find it by GUID and was not found to lack it within a day
// (Record.Absent): a server that lacks part of the household's library is
// asked about each missing item once a day, not at every import, and gets
// the write at once when it reports the item (import, webhook, addition).
package engine
