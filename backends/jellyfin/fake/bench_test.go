package fake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// bigLibrary is 20,000 movies and 800 series x 4 seasons x 25 episodes: 100,000 movies and
// episodes (104,000 items with series and seasons).
func bigLibrary() Options {
	return Options{Seed: 1, Movies: 20000, Series: 800, SeasonsPerSeries: 4, EpisodesPerSeason: 25,
		PlayedFraction: 0.3, ResumeFraction: 0.05, DisableRecording: true}
}

// clientItem is what an importing client decodes from a page.
type clientItem struct {
	ID                string `json:"Id"`
	Name              string
	Type              string
	ProviderIDs       map[string]string `json:"ProviderIds"`
	Path              string
	DateCreated       string
	RunTimeTicks      int64
	SeriesID          string `json:"SeriesId"`
	ParentIndexNumber int
	IndexNumber       int
	UserData          struct {
		PlaybackPositionTicks int64
		PlayCount             int
		LastPlayedDate        string
		Played                bool
	}
}

type clientPage struct {
	Items            []clientItem
	TotalRecordCount int
}

func pageURL(uid string, start int) string {
	return "/Items?userId=" + uid + "&Recursive=true&IncludeItemTypes=Movie,Episode&Fields=ProviderIds,DateCreated,Path&EnableUserData=true&StartIndex=" + strconv.Itoa(start) + "&Limit=1000"
}

// serveAll fetches every page in process (no sockets) and returns the bodies.
func serveAll(tb testing.TB, s *Server) [][]byte {
	uid, auth := s.UserID("admin"), `MediaBrowser Token="`+s.APIKey()+`"`
	var pages [][]byte
	for start := 0; ; start += 1000 {
		req := httptest.NewRequest("GET", pageURL(uid, start), nil)
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			tb.Fatalf("page %d: %d %s", start, rec.Code, rec.Body.Bytes())
		}
		pages = append(pages, rec.Body.Bytes())
		if start+1000 >= 100000 {
			return pages
		}
	}
}

// BenchmarkServe100kItems measures the fake's own cost of serving a 100k-item library in
// pages of 1000, against a floor measured in the same run: a client merely decoding the same
// pages with encoding/json. serve/decode is the fake's share of an import benchmark's time.
func BenchmarkServe100kItems(b *testing.B) {
	s := MustNew(bigLibrary())
	var serve, decode time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		pages := serveAll(b, s)
		t1 := time.Now()
		n := 0
		for _, p := range pages {
			var cp clientPage
			if err := json.Unmarshal(p, &cp); err != nil {
				b.Fatal(err)
			}
			n += len(cp.Items)
		}
		decode += time.Since(t1)
		serve += t1.Sub(t0)
		if n != 100000 {
			b.Fatalf("decoded %d items, want 100000", n)
		}
	}
	b.ReportMetric(float64(serve.Milliseconds())/float64(b.N), "serve-ms/import")
	b.ReportMetric(float64(decode.Milliseconds())/float64(b.N), "decode-ms/import")
	b.ReportMetric(float64(serve)/float64(decode), "serve/decode")
}

// A 100k-item library costs a fixed handful of allocations to create: items are derived
// from the seed on demand, never stored.
func TestBigLibraryIsCompact(t *testing.T) {
	allocs := testing.AllocsPerRun(3, func() {
		o := bigLibrary()
		o.Movies = 1_000_000
		if _, err := New(o); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 200 {
		t.Errorf("creating a 1.1M-item library took %v allocations; it should not grow with the library", allocs)
	}
	s := MustNew(bigLibrary())
	if s.ItemCount() != 104000 {
		t.Errorf("ItemCount %d, want 104000", s.ItemCount())
	}
}
