package plex

import (
	"container/list"
	"context"
	"net/url"
	"strings"
	"sync"
	"time"
)

// showCache keeps the GUIDs of shows looked up by ratingKey for webhooks and
// delta imports, which see a few episodes at a time. It is an LRU bounded in
// entries (a show costs a few hundred bytes) with an age limit, so a show
// rematched in Plex is seen again within showCacheTTL.
type showCache struct {
	max int
	ttl time.Duration

	mu sync.Mutex
	ll *list.List // front = most recently used
	m  map[string]*list.Element
}

type showEntry struct {
	key  string
	info showInfo
	at   time.Time
}

const (
	showCacheSize = 2048
	showCacheTTL  = time.Hour
	// metadataBatch is how many ratingKeys one /library/metadata/{a,b,…} asks
	// for: the URL stays well under common 8 KB limits.
	metadataBatch = 100
)

func newShowCache(max int, ttl time.Duration) *showCache {
	return &showCache{max: max, ttl: ttl, ll: list.New(), m: map[string]*list.Element{}}
}

func (c *showCache) get(key string) (showInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[key]
	if !ok {
		return showInfo{}, false
	}
	e := el.Value.(*showEntry)
	if time.Since(e.at) > c.ttl {
		c.ll.Remove(el)
		delete(c.m, key)
		return showInfo{}, false
	}
	c.ll.MoveToFront(el)
	return e.info, true
}

func (c *showCache) put(key string, info showInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[key]; ok {
		el.Value = &showEntry{key: key, info: info, at: time.Now()}
		c.ll.MoveToFront(el)
		return
	}
	c.m[key] = c.ll.PushFront(&showEntry{key: key, info: info, at: time.Now()})
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.m, last.Value.(*showEntry).key)
	}
}

func (c *showCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// lookupShows answers the shows of keys, from the cache or in batches from
// /library/metadata/{a,b,…}. A show PMS no longer has is left out.
func (st *state) lookupShows(ctx context.Context, token string, keys []string) (map[string]showInfo, error) {
	out := make(map[string]showInfo, len(keys))
	var missing []string
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		if info, ok := st.shows.get(k); ok {
			out[k] = info
			continue
		}
		missing = append(missing, k)
	}
	for len(missing) > 0 {
		n := min(len(missing), metadataBatch)
		batch := missing[:n]
		missing = missing[n:]
		var mc container
		err := st.c.get(ctx, token, "/library/metadata/"+strings.Join(batch, ","), url.Values{"includeGuids": {"1"}}, &mc)
		if isNotFound(err) {
			continue // every show of the batch is gone
		}
		if err != nil {
			return nil, err
		}
		for i := range mc.MediaContainer.Metadata {
			m := &mc.MediaContainer.Metadata[i]
			info := showOf(m)
			st.shows.put(m.RatingKey, info)
			out[m.RatingKey] = info
		}
	}
	return out, nil
}
