package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keepwatch/keepwatch/core/model"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "data", FileName), Options{NoSync: true, BatchDelay: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenCreatesFileWithMode0600AndSchema(t *testing.T) {
	s := open(t)
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if v, err := s.SchemaVersionOnDisk(); err != nil || v != SchemaVersion {
		t.Errorf("schema version %d %v", v, err)
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
}

func TestOpenLockedFailsFast(t *testing.T) {
	s := open(t)
	start := time.Now()
	_, err := Open(s.Path(), Options{LockTimeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("second open hung for %v", time.Since(start)) // a hang, not a timing check
	}
}

func TestOpenNewerSchemaRefused(t *testing.T) {
	s := open(t)
	path := s.Path()
	if err := s.Update(func(tx *Tx) error { return tx.PutMeta(string(keySchemaVersion), []byte("99")) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(path, Options{}); err == nil {
		t.Fatal("opened a database from a newer keepwatch")
	}
}

func TestPutRecordMaintainsIndexes(t *testing.T) {
	s := open(t)
	r := &model.Record{User: "alice", Item: model.Item{Kind: model.KindEpisode, GUIDs: []model.GUID{"tvdb:1"},
		ShowGUIDs: []model.GUID{"tvdb:81189"}, Season: 1, Episode: 2},
		Refs: map[string]model.Ref{"plex": {RemoteID: "100"}}}
	err := s.Update(func(tx *Tx) error { return tx.PutRecord(r) })
	if err != nil || r.ID == 0 {
		t.Fatalf("put: id %d err %v", r.ID, err)
	}
	lookups := func() map[string]bool {
		got := map[string]bool{}
		_ = s.View(func(tx *Tx) error {
			for _, k := range []string{"tvdb:1", "tvdb:2", "tvdb:81189/1/2"} {
				_, got[k] = tx.FindByKey("alice", k)
			}
			_, got["remote 100"] = tx.FindByRemote("alice", "plex", "100")
			_, got["remote 200"] = tx.FindByRemote("alice", "plex", "200")
			_, got["bob tvdb:1"] = tx.FindByKey("bob", "tvdb:1")
			return nil
		})
		return got
	}
	want := map[string]bool{"tvdb:1": true, "tvdb:2": false, "tvdb:81189/1/2": true, "remote 100": true, "remote 200": false, "bob tvdb:1": false}
	if diff := cmp.Diff(want, lookups()); diff != "" {
		t.Fatalf("indexes after create (-want +got):\n%s", diff)
	}
	// Replace a GUID and move the remote id: stale keys go in the same transaction.
	r.Item.GUIDs = []model.GUID{"tvdb:2"}
	r.Refs["plex"] = model.Ref{RemoteID: "200"}
	if err := s.Update(func(tx *Tx) error { return tx.PutRecord(r) }); err != nil {
		t.Fatal(err)
	}
	want = map[string]bool{"tvdb:1": false, "tvdb:2": true, "tvdb:81189/1/2": true, "remote 100": false, "remote 200": true, "bob tvdb:1": false}
	if diff := cmp.Diff(want, lookups()); diff != "" {
		t.Fatalf("indexes after update (-want +got):\n%s", diff)
	}
	if err := s.Update(func(tx *Tx) error { return tx.DeleteRecord(r.ID) }); err != nil {
		t.Fatal(err)
	}
	for k, v := range lookups() {
		if v {
			t.Errorf("index %s survived the record's deletion", k)
		}
	}
}

func TestFailedTransactionLeavesNothing(t *testing.T) {
	s := open(t)
	boom := errors.New("boom")
	err := s.Update(func(tx *Tx) error {
		if err := tx.PutRecord(&model.Record{User: "alice", Item: model.Item{Kind: model.KindMovie, GUIDs: []model.GUID{"imdb:tt0000001"}}}); err != nil {
			return err
		}
		if err := tx.Enqueue("jelly", 1, "alice", time.Now()); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	n, _ := s.CountRecords()
	d, _ := s.OutboxDepths()
	if n != 0 || d["jelly"] != 0 {
		t.Errorf("records %d outbox %v after rollback", n, d)
	}
	_ = s.View(func(tx *Tx) error {
		if _, ok := tx.FindByKey("alice", "imdb:tt0000001"); ok {
			t.Error("index entry survived rollback")
		}
		return nil
	})
}

func TestOutboxCoalescesPerRecord(t *testing.T) {
	s := open(t)
	now := time.Now()
	for range 3 {
		if err := s.Update(func(tx *Tx) error { return tx.Enqueue("jelly", 7, "alice", now) }); err != nil {
			t.Fatal(err)
		}
	}
	pending, err := s.PendingOutbox("jelly", now, 10)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending %+v %v, want one coalesced entry", pending, err)
	}
	first := pending[0]
	// A drain that finished after a newer change must not delete the newer entry.
	_ = s.Update(func(tx *Tx) error { return tx.Enqueue("jelly", 7, "alice", now) })
	var removed bool
	_ = s.Update(func(tx *Tx) error { removed, err = tx.CompleteOutbox("jelly", 7, first.Seq); return err })
	if removed {
		t.Fatal("completed an entry that was re-queued meanwhile")
	}
	// Back-off: a retried entry is not due until its time.
	_ = s.Update(func(tx *Tx) error { return tx.RetryOutbox("jelly", 7, now.Add(time.Minute), "503") })
	if p, _ := s.PendingOutbox("jelly", now, 10); len(p) != 0 {
		t.Errorf("entry due before its back-off: %+v", p)
	}
	p, _ := s.PendingOutbox("jelly", now.Add(2*time.Minute), 10)
	if len(p) != 1 || p[0].Attempts != 1 || p[0].LastError != "503" {
		t.Errorf("after back-off: %+v", p)
	}
}

func TestTokens(t *testing.T) {
	s := open(t)
	if err := s.PutToken(Token{User: "alice", Backend: "plex", Token: "first-secret-token"}); err != nil {
		t.Fatal(err)
	}
	if tok, ok, _ := s.LookupToken("first-secret-token"); !ok || tok.User != "alice" || tok.Backend != "plex" {
		t.Fatalf("lookup %+v %v", tok, ok)
	}
	// Rotation: the old token stops working at once.
	if err := s.PutToken(Token{User: "alice", Backend: "plex", Token: "second-secret-token"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.LookupToken("first-secret-token"); ok {
		t.Error("rotated-out token still valid")
	}
	if _, ok, _ := s.LookupToken("second-secret-token"); !ok {
		t.Error("new token not valid")
	}
	if _, ok, _ := s.LookupToken(""); ok {
		t.Error("empty token valid")
	}
	list, _ := s.ListTokens()
	if len(list) != 1 {
		t.Errorf("tokens %+v", list)
	}
}

func TestInboxSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := &Delivery{Backend: "plex", User: "*", Body: []byte("payload"), ReceivedAt: time.Now()}
	if err := s.AddDeliveries(d); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.PendingDeliveries(10)
	if err != nil || len(p) != 1 || !bytes.Equal(p[0].Body, []byte("payload")) || p[0].ID != d.ID {
		t.Fatalf("pending after reopen: %+v %v", p, err)
	}
}

func TestBackupIsConsistentCopy(t *testing.T) {
	s := open(t)
	for i := range 50 {
		r := &model.Record{User: "alice", Item: model.Item{Kind: model.KindMovie, GUIDs: []model.GUID{model.GUID(fmt.Sprintf("tmdb:%d", i+1))}}}
		if err := s.Update(func(tx *Tx) error { return tx.PutRecord(r) }); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(t.TempDir(), "backup.db")
	if _, err := s.BackupFile(dst); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(dst)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v", fi.Mode().Perm())
	}
	b, err := Open(dst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if n, _ := b.CountRecords(); n != 50 {
		t.Errorf("backup has %d records, want 50", n)
	}
}

func TestJournalAndRuns(t *testing.T) {
	s := open(t)
	run := &Run{Kind: "import", Status: RunRunning, StartedAt: time.Now()}
	if err := s.CreateRun(run); err != nil || run.ID == 0 {
		t.Fatal(err)
	}
	o := model.Origin{Kind: model.OriginRun, ID: run.ID}
	other := model.Origin{Kind: model.OriginDelivery, ID: run.ID}
	old := time.Now().Add(-48 * time.Hour)
	_ = s.Update(func(tx *Tx) error {
		for i := range 3 {
			if err := tx.AppendJournal(&model.Event{Origin: o, At: old, Kind: model.EventRecordChanged, RecordID: uint64(i)}); err != nil {
				return err
			}
		}
		return tx.AppendJournal(&model.Event{Origin: other, At: time.Now(), Kind: model.EventRecordChanged})
	})
	ev, err := s.Journal(o)
	if err != nil || len(ev) != 3 || ev[2].RecordID != 2 {
		t.Fatalf("journal %+v %v", ev, err)
	}
	n, err := s.PruneJournal(time.Now().Add(-time.Hour), nil)
	if err != nil || n != 3 {
		t.Errorf("pruned %d %v", n, err)
	}
	if ev, _ := s.Journal(other); len(ev) != 1 {
		t.Errorf("recent entries pruned: %+v", ev)
	}
	runs, _ := s.ListRuns(10)
	if len(runs) != 1 || runs[0].Kind != "import" {
		t.Errorf("runs %+v", runs)
	}
}

// TestOpenFollowsARenamedDatabase: a process waiting for the lock while a
// restore renames a new file over the database must end up on the new file,
// not on the unlinked old one.
func TestOpenFollowsARenamedDatabase(t *testing.T) {
	old := open(t)
	path := old.Path()
	fresh := filepath.Join(filepath.Dir(path), "restored.db")
	rs, err := Open(fresh, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Update(func(tx *Tx) error { return tx.PutMeta("marker", []byte("restored")) }); err != nil {
		t.Fatal(err)
	}
	rs.Close()

	opened := make(chan *Store, 1)
	go func() {
		s, err := Open(path, Options{NoSync: true, LockTimeout: 30 * time.Second})
		if err != nil {
			t.Error(err)
		}
		opened <- s
	}()
	time.Sleep(100 * time.Millisecond) // let it block on the old file's lock (ordering, not timing)
	if err := os.Rename(fresh, path); err != nil {
		t.Fatal(err)
	}
	old.Close()
	s := <-opened
	if s == nil {
		return
	}
	defer s.Close()
	var got []byte
	_ = s.View(func(tx *Tx) error { got = append(got, tx.Meta("marker")...); return nil })
	if string(got) != "restored" {
		t.Errorf("opened the replaced file: marker %q, want %q", got, "restored")
	}
}
