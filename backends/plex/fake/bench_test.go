package fake_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/keepwatch/keepwatch/backends/plex/fake"
)

// The fake's own cost of serving a 100k-item library in pages of 1000: the floor
// under any import benchmark that runs against it.

const benchItems = 100_000
const benchPage = 1000

type discardWriter struct {
	h http.Header
	n int64
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(b []byte) (int, error) { w.n += int64(len(b)); return len(b), nil }

// pageItem is what an importer decodes from each item.
type pageItem struct {
	RatingKey    string `json:"ratingKey"`
	GUID         string `json:"guid"`
	Type         string `json:"type"`
	Title        string `json:"title"`
	Year         int    `json:"year"`
	ViewCount    int    `json:"viewCount"`
	ViewOffset   int64  `json:"viewOffset"`
	LastViewedAt int64  `json:"lastViewedAt"`
	GUIDs        []struct {
		ID string `json:"id"`
	} `json:"Guid"`
}

type page struct {
	MediaContainer struct {
		Size      int        `json:"size"`
		TotalSize int        `json:"totalSize"`
		Metadata  []pageItem `json:"Metadata"`
	} `json:"MediaContainer"`
}

func benchServer(b *testing.B) *fake.Server {
	b.Helper()
	srv := fake.MustNew(fake.Options{Seed: 1, Movies: benchItems})
	if _, _, err := srv.SeedWatched("admin", 0.3, 0.05, 1); err != nil {
		b.Fatal(err)
	}
	return srv
}

func pageURL(base string, start int) string {
	return fmt.Sprintf("%s/library/sections/1/all?type=1&includeGuids=1&sort=addedAt&X-Plex-Container-Start=%d&X-Plex-Container-Size=%d", base, start, benchPage)
}

func BenchmarkServe100kPages(b *testing.B) {
	srv := benchServer(b)
	tok := srv.Owner().ServerToken

	b.Run("handler", func(b *testing.B) {
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			for start := 0; start < benchItems; start += benchPage {
				req := httptest.NewRequest(http.MethodGet, pageURL("", start), nil)
				req.Header.Set("X-Plex-Token", tok)
				req.Header.Set("Accept", "application/json")
				srv.ServeHTTP(w, req)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchItems), "ns/item")
		b.ReportMetric(float64(w.n)/float64(b.N)/1e6, "MB/op")
	})

	ts := httptest.NewServer(srv)
	defer ts.Close()
	fetch := func(b *testing.B, decode bool) {
		client := ts.Client()
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			for start := 0; start < benchItems; start += benchPage {
				req, _ := http.NewRequest(http.MethodGet, pageURL(ts.URL, start), nil)
				req.Header.Set("X-Plex-Token", tok)
				req.Header.Set("Accept", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				if decode {
					var p page
					if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
						b.Fatal(err)
					}
					n += len(p.MediaContainer.Metadata)
				} else {
					_, _ = io.Copy(io.Discard, resp.Body)
					n += benchPage
				}
				resp.Body.Close()
			}
			if n != benchItems {
				b.Fatalf("read %d items, want %d", n, benchItems)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchItems), "ns/item")
	}
	b.Run("loopback", func(b *testing.B) { fetch(b, false) })
	b.Run("loopback+decode", func(b *testing.B) { fetch(b, true) })
}

// BenchmarkNew100k reports the cost of generating a 100k-item library and the heap it
// holds (heap-MB), movies and episodes.
func BenchmarkNew100k(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts fake.Options
	}{
		{"movies", fake.Options{Seed: 1, Movies: benchItems}},
		{"episodes", fake.Options{Seed: 1, Shows: 1000, SeasonsPerShow: 10, EpisodesPerSeason: 10}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var heap float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				srv := fake.MustNew(tc.opts)
				runtime.GC()
				runtime.ReadMemStats(&after)
				heap = float64(after.HeapAlloc-before.HeapAlloc) / 1e6
				runtime.KeepAlive(srv)
			}
			b.ReportMetric(heap, "heap-MB")
		})
	}
}
