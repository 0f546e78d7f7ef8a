package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"

	"github.com/keepwatch/keepwatch/core/model"
	"github.com/keepwatch/keepwatch/core/store"
)

// BenchmarkApply measures observations merged per second through engine and
// store, with fsync on as in production, for 1-observation transactions (a
// webhook) and 500-observation pages (an import). Beside it, in the same run,
// it measures the floor: bare bbolt transactions putting one record-sized
// JSON value per observation. x-floor is engine time per observation over
// floor time per observation; the machine is shared, so read the ratio, not
// the absolute rate.
func BenchmarkApply(b *testing.B) {
	for _, per := range []int{1, 500} {
		b.Run(fmt.Sprintf("obs-per-tx=%d", per), func(b *testing.B) {
			floor := bareBoltFloor(b, per)
			st, err := store.Open(filepath.Join(b.TempDir(), store.FileName), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			cfg := DefaultConfig()
			cfg.Backends = map[string]BackendPolicy{"a": {Import: true, Export: true}, "b": {Import: true, Export: true}}
			e := New(st, cfg, zerolog.Nop())
			run, err := e.StartRun(context.Background(), RunOptions{Kind: "import", Guarded: true})
			if err != nil {
				b.Fatal(err)
			}
			next := 0
			page := make([]model.Observation, per)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				for k := range page {
					page[k] = benchObservation(next)
					next++
				}
				if _, err := run.Apply(context.Background(), page); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			perObs := elapsed.Seconds() / float64(b.N*per)
			b.ReportMetric(1/perObs, "obs/s")
			b.ReportMetric(1/floor, "floor-obs/s")
			b.ReportMetric(perObs/floor, "x-floor")
		})
	}
}

func benchObservation(i int) model.Observation {
	return model.Observation{Backend: "a", User: "alice", RemoteID: fmt.Sprint(i),
		Item:       model.Item{Kind: model.KindMovie, Title: "A movie title", Year: 2001, GUIDs: []model.GUID{model.GUID(fmt.Sprintf("imdb:tt%07d", i+1)), model.GUID(fmt.Sprintf("tmdb:%d", i+1))}},
		HasWatched: true, Watched: i%3 == 0, PlayedAt: time.Unix(1700000000+int64(i), 0), HasProgress: true, Progress: time.Duration(i%5) * time.Minute}
}

// bareBoltFloor returns seconds per observation for bare bbolt transactions of
// per puts each, a record-sized JSON value per put, fsync on.
func bareBoltFloor(b *testing.B, per int) float64 {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "floor.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	val, _ := json.Marshal(model.Record{ID: 1, User: "alice", Item: benchObservation(1).Item,
		Bases: map[string]model.Base{"a": {WatchedKnown: true, SeenAt: time.Now()}}})
	txs := max(20, 4000/per)
	next := uint64(0)
	start := time.Now()
	for range txs {
		err := db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("r"))
			if err != nil {
				return err
			}
			for range per {
				next++
				if err := bk.Put([]byte(fmt.Sprintf("%016x", next)), val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start).Seconds() / float64(txs*per)
}
