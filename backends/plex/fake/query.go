package fake

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file models PMS media queries on /library/sections/{key}/all (see doc.go for
// what is modelled and why). A query string is a sequence of terms in order:
//
//	field[op]=value   a filter; op is the text left of "=" after the field name:
//	                  "" (=), "!" (!=), ">>" (>>=), "<<" (<<=), ">" (>=), "<" (<=),
//	                  and for strings a value starting with "=" (== / !==)
//	push=1 / pop=1    open / close a parenthesis
//	or=1              the next term is OR-ed with the previous ones (AND binds tighter)
//	sort=f[:desc][:nullsLast],…   limit=N   type=N
//
// Because "=" separates key from value, ">>=" arrives as the key suffix ">>": a
// client that percent-encodes the "=" of the operator sends the key "updatedAt>=",
// which PMS ignores, returning the whole library (measured on a real server).

type kv struct{ k, v string }

// splitQuery splits a raw query into key/value pairs in order (url.ParseQuery loses
// the order, which push/pop/or depend on).
func splitQuery(raw string) []kv {
	var out []kv
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		out = append(out, kv{k, v})
	}
	return out
}

type fieldType uint8

const (
	ftInt fieldType = iota + 1
	ftDate
	ftBool
	ftString
)

// fieldTypes are the filterable/sortable fields the fake knows. State fields are
// the token user's.
var fieldTypes = map[string]fieldType{
	"year":         ftInt,
	"duration":     ftInt,
	"index":        ftInt,
	"viewCount":    ftInt,
	"viewOffset":   ftInt,
	"addedAt":      ftDate,
	"updatedAt":    ftDate,
	"lastViewedAt": ftDate,
	"unwatched":    ftBool,
	"inProgress":   ftBool,
	"title":        ftString,
	"titleSort":    ftString,
}

var stateFields = map[string]bool{"viewCount": true, "viewOffset": true, "lastViewedAt": true, "unwatched": true, "inProgress": true}

// sortOnly fields can be sorted by but not filtered on (in the fake).
var sortOnly = map[string]bool{"titleSort": true}

// fieldRef is a field, possibly qualified ("show.title" on an episode query).
type fieldRef struct {
	name  string
	up    int // 0: the item, 1: its parent, 2: its grandparent
	ftype fieldType
}

// resolveField parses a possibly qualified field name for a query of type t.
func resolveField(name string, t kind) (fieldRef, bool) {
	up := 0
	if q, rest, ok := strings.Cut(name, "."); ok {
		var target kind
		switch q {
		case "movie":
			target = kindMovie
		case "show":
			target = kindShow
		case "season":
			target = kindSeason
		case "episode":
			target = kindEpisode
		default:
			return fieldRef{}, false
		}
		if target > t {
			return fieldRef{}, false
		}
		switch {
		case target == t:
		case t == kindEpisode && target == kindSeason, t == kindSeason && target == kindShow:
			up = 1
		case t == kindEpisode && target == kindShow:
			up = 2
		default:
			return fieldRef{}, false
		}
		name = rest
	}
	ft, ok := fieldTypes[name]
	if !ok {
		return fieldRef{}, false
	}
	return fieldRef{name: name, up: up, ftype: ft}, true
}

type expr interface {
	eval(ev *evaluator, idx int32) bool
}

type andExpr []expr
type orExpr []expr

func (a andExpr) eval(ev *evaluator, idx int32) bool {
	for _, e := range a {
		if !e.eval(ev, idx) {
			return false
		}
	}
	return true
}

func (o orExpr) eval(ev *evaluator, idx int32) bool {
	for _, e := range o {
		if e.eval(ev, idx) {
			return true
		}
	}
	return false
}

type cond struct {
	f    fieldRef
	op   string // "=", "!=", ">>", "<<", ">=", "<=", "==", "!=="
	ints []int64
	strs []string
}

func (c *cond) eval(ev *evaluator, idx int32) bool {
	target := ev.up(idx, c.f.up)
	if target < 0 {
		return false
	}
	switch c.f.ftype {
	case ftString:
		v := strings.ToLower(ev.str(target, c.f.name))
		for _, want := range c.strs {
			w := strings.ToLower(want)
			var hit bool
			switch c.op {
			case "=", "!=":
				hit = strings.Contains(v, w)
			case "==", "!==":
				hit = v == w
			case "<=":
				hit = strings.HasPrefix(v, w)
			case ">=":
				hit = strings.HasSuffix(v, w)
			}
			if c.op == "!=" || c.op == "!==" {
				if hit {
					return false
				}
				continue
			}
			if hit {
				return true
			}
		}
		return c.op == "!=" || c.op == "!=="
	case ftBool:
		return ev.boolean(target, c.f.name) == (c.ints[0] == 1)
	}
	v := ev.num(target, c.f.name)
	if c.f.ftype == ftDate && v == 0 {
		// An unset date is NULL in PMS's database: no comparison matches it.
		return false
	}
	switch c.op {
	case "=":
		for _, w := range c.ints {
			if v == w {
				return true
			}
		}
		return false
	case "!=":
		for _, w := range c.ints {
			if v == w {
				return false
			}
		}
		return true
	case ">>":
		return v > c.ints[0]
	case "<<":
		return v < c.ints[0]
	case ">=":
		return v >= c.ints[0]
	case "<=":
		return v <= c.ints[0]
	}
	return false
}

// evaluator reads fields of items as the query's user sees them.
type evaluator struct {
	s    *Server
	user *account
}

func (ev *evaluator) up(idx int32, n int) int32 {
	for ; n > 0 && idx >= 0; n-- {
		idx = ev.s.items[idx].parent
	}
	return idx
}

func (ev *evaluator) num(idx int32, name string) int64 {
	it := &ev.s.items[idx]
	switch name {
	case "year":
		return int64(it.year)
	case "duration":
		return int64(it.duration)
	case "index":
		return int64(it.index)
	case "addedAt":
		return it.addedAt
	case "updatedAt":
		return it.updatedAt
	}
	if it.kind == kindShow || it.kind == kindSeason {
		agg := ev.s.aggregate(ev.user, idx)
		switch name {
		case "viewCount":
			return int64(agg.viewCount)
		case "lastViewedAt":
			return agg.lastViewedAt
		}
		return 0
	}
	st := ev.user.states[idx]
	switch name {
	case "viewCount":
		return int64(st.viewCount)
	case "viewOffset":
		return int64(st.viewOffset)
	case "lastViewedAt":
		return st.lastViewedAt
	}
	return 0
}

func (ev *evaluator) boolean(idx int32, name string) bool {
	it := &ev.s.items[idx]
	if it.kind == kindShow || it.kind == kindSeason {
		agg := ev.s.aggregate(ev.user, idx)
		switch name {
		case "unwatched":
			return agg.viewedLeaves < agg.leaves
		case "inProgress":
			return agg.viewedLeaves > 0 && agg.viewedLeaves < agg.leaves
		}
		return false
	}
	st := ev.user.states[idx]
	switch name {
	case "unwatched":
		return st.viewCount == 0
	case "inProgress":
		return st.viewOffset > 0
	}
	return false
}

func (ev *evaluator) str(idx int32, name string) string {
	t := ev.s.title(idx)
	if name == "titleSort" {
		return titleSort(t)
	}
	return t
}

// aggregateState is what a show or season shows a user: counts over its episodes.
type aggregateState struct {
	leaves, viewedLeaves int
	viewCount            int32
	lastViewedAt         int64
}

func (s *Server) aggregate(u *account, idx int32) aggregateState {
	var a aggregateState
	it := &s.items[idx]
	if it.ext == nil {
		return a
	}
	for _, c := range it.ext.children {
		if s.items[c].kind == kindSeason {
			sub := s.aggregate(u, c)
			a.leaves += sub.leaves
			a.viewedLeaves += sub.viewedLeaves
			a.viewCount += sub.viewCount
			a.lastViewedAt = max(a.lastViewedAt, sub.lastViewedAt)
			continue
		}
		a.leaves++
		st := u.states[c]
		if st.viewCount > 0 {
			a.viewedLeaves++
		}
		a.viewCount += st.viewCount
		a.lastViewedAt = max(a.lastViewedAt, st.lastViewedAt)
	}
	return a
}

type sortKey struct {
	f         fieldRef
	desc      bool
	nullsLast bool
}

// listQuery is a parsed /all request.
type listQuery struct {
	sec      int
	typ      kind
	filter   expr
	sorts    []sortKey
	limit    int
	stateDep bool
	key      string // canonical form for the cache
	ignored  []string
}

// reservedParams are query keys that are not filters.
func reservedParam(k string) bool {
	switch k {
	case "type", "sort", "limit", "group", "sourceType", "push", "pop", "or":
		return true
	}
	return strings.HasPrefix(k, "X-Plex-") || strings.HasPrefix(k, "include") ||
		strings.HasPrefix(k, "exclude") || strings.HasPrefix(k, "checkFile") ||
		strings.HasPrefix(k, "async") || k == "skipRefresh" || k == "augmentCount"
}

// parseListQuery parses the query of a section listing for section sec. now
// resolves relative dates ("-30d").
func parseListQuery(raw string, sec *section, secIdx int, now time.Time) (*listQuery, error) {
	pairs := splitQuery(raw)
	q := &listQuery{sec: secIdx}
	switch sec.spec.Type {
	case "movie":
		q.typ = kindMovie
	case "show":
		q.typ = kindShow
	default:
		q.typ = 0 // artist sections list nothing in the fake
	}
	for _, p := range pairs {
		switch p.k {
		case "type":
			n, err := strconv.Atoi(p.v)
			if err != nil || n < 1 || n > 9 {
				return nil, fmt.Errorf("type=%q is not a media type number (1 movie, 2 show, 3 season, 4 episode)", p.v)
			}
			q.typ = kind(n)
		case "limit":
			n, err := strconv.Atoi(p.v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("limit=%q is not a count", p.v)
			}
			q.limit = n
		}
	}
	var keyParts []string
	keyParts = append(keyParts, fmt.Sprintf("s%d t%d", secIdx, q.typ))

	// Filters, with push/pop/or structure.
	type level struct {
		or  orExpr
		and andExpr
	}
	stack := []*level{{}}
	flush := func(l *level) expr {
		if len(l.and) > 0 {
			l.or = append(l.or, l.and)
			l.and = nil
		}
		switch len(l.or) {
		case 0:
			return nil
		case 1:
			return l.or[0]
		}
		return l.or
	}
	for _, p := range pairs {
		switch p.k {
		case "push":
			stack = append(stack, &level{})
			keyParts = append(keyParts, "(")
			continue
		case "pop":
			if len(stack) == 1 {
				return nil, fmt.Errorf("pop=1 without a matching push=1")
			}
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if e := flush(top); e != nil {
				cur := stack[len(stack)-1]
				cur.and = append(cur.and, e)
			}
			keyParts = append(keyParts, ")")
			continue
		case "or":
			cur := stack[len(stack)-1]
			if len(cur.and) > 0 {
				cur.or = append(cur.or, cur.and)
				cur.and = nil
			}
			keyParts = append(keyParts, "|")
			continue
		}
		if reservedParam(p.k) {
			continue
		}
		c, ok, err := parseCond(p, q.typ, now)
		if err != nil {
			return nil, err
		}
		if !ok {
			q.ignored = append(q.ignored, p.k+"="+p.v)
			continue
		}
		if stateFields[c.f.name] {
			q.stateDep = true
		}
		cur := stack[len(stack)-1]
		cur.and = append(cur.and, c)
		keyParts = append(keyParts, fmt.Sprintf("%s/%d %s %v %q", c.f.name, c.f.up, c.op, c.ints, c.strs))
	}
	if len(stack) != 1 {
		return nil, fmt.Errorf("push=1 without a matching pop=1")
	}
	q.filter = flush(stack[0])

	for _, p := range pairs {
		if p.k != "sort" {
			continue
		}
		for _, spec := range strings.Split(p.v, ",") {
			if spec == "" {
				continue
			}
			parts := strings.Split(spec, ":")
			f, ok := resolveField(parts[0], q.typ)
			if !ok || f.ftype == ftBool {
				q.ignored = append(q.ignored, "sort="+spec)
				continue
			}
			sk := sortKey{f: f}
			bad := false
			for _, m := range parts[1:] {
				switch m {
				case "desc":
					sk.desc = true
				case "asc":
				case "nullsLast":
					sk.nullsLast = true
				default:
					bad = true
				}
			}
			if bad {
				q.ignored = append(q.ignored, "sort="+spec)
				continue
			}
			if stateFields[f.name] {
				q.stateDep = true
			}
			q.sorts = append(q.sorts, sk)
			keyParts = append(keyParts, fmt.Sprintf("sort %s/%d %v %v", f.name, f.up, sk.desc, sk.nullsLast))
		}
	}
	if len(q.sorts) == 0 {
		q.sorts = defaultSort(q.typ)
	}
	q.key = strings.Join(keyParts, ";")
	return q, nil
}

// defaultSort is PMS's order when no sort is given: by title for movies and shows,
// by show then season then episode number for episodes.
func defaultSort(t kind) []sortKey {
	ts := func(up int) sortKey { return sortKey{f: fieldRef{name: "titleSort", up: up, ftype: ftString}} }
	ix := func(up int) sortKey { return sortKey{f: fieldRef{name: "index", up: up, ftype: ftInt}} }
	switch t {
	case kindSeason:
		return []sortKey{ts(1), ix(0)}
	case kindEpisode:
		return []sortKey{ts(2), ix(1), ix(0)}
	}
	return []sortKey{ts(0)}
}

// parseCond parses one filter term. ok is false for a term PMS would ignore.
func parseCond(p kv, t kind, now time.Time) (*cond, bool, error) {
	name, op := p.k, "="
	for _, suf := range []string{">>", "<<", ">", "<", "!"} {
		if strings.HasSuffix(name, suf) {
			name = strings.TrimSuffix(name, suf)
			switch suf {
			case ">":
				op = ">="
			case "<":
				op = "<="
			case "!":
				op = "!="
			default:
				op = suf
			}
			break
		}
	}
	f, ok := resolveField(name, t)
	if !ok || sortOnly[f.name] {
		return nil, false, nil
	}
	v := p.v
	if strings.HasPrefix(v, "=") && f.ftype == ftString && (op == "=" || op == "!=") {
		op += "="
		v = v[1:]
	}
	c := &cond{f: f, op: op}
	switch f.ftype {
	case ftString:
		c.strs = strings.Split(v, ",")
		return c, true, nil
	case ftBool:
		if op != "=" || (v != "0" && v != "1") {
			return nil, false, nil
		}
		c.ints = []int64{int64(v[0] - '0')}
		return c, true, nil
	case ftInt:
		if op == "==" || op == "!==" {
			return nil, false, nil
		}
	case ftDate:
		switch op {
		case "=", "!=", ">>", "<<", ">=", "<=":
		default:
			return nil, false, nil
		}
	}
	for _, part := range strings.Split(v, ",") {
		var n int64
		var err error
		if f.ftype == ftDate {
			n, err = parseDateValue(part, now)
		} else {
			n, err = strconv.ParseInt(part, 10, 64)
		}
		if err != nil {
			return nil, false, nil
		}
		c.ints = append(c.ints, n)
	}
	if len(c.ints) == 0 || (len(c.ints) > 1 && op != "=" && op != "!=") {
		return nil, false, nil
	}
	return c, true, nil
}

// parseDateValue reads an epoch-seconds date or a value relative to now: "-N"/"+N"
// seconds, optionally with a unit (m, h, d, w, mon, y): ">>=-3y" is "within the last
// three years".
func parseDateValue(v string, now time.Time) (int64, error) {
	if v == "" {
		return 0, fmt.Errorf("empty date")
	}
	if v[0] != '-' && v[0] != '+' {
		return strconv.ParseInt(v, 10, 64)
	}
	sign := int64(1)
	if v[0] == '-' {
		sign = -1
	}
	body := v[1:]
	unit := int64(1)
	for _, u := range []struct {
		suffix string
		secs   int64
	}{{"mon", 30 * 86400}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 7 * 86400}, {"y", 365 * 86400}} {
		if strings.HasSuffix(body, u.suffix) {
			body = strings.TrimSuffix(body, u.suffix)
			unit = u.secs
			break
		}
	}
	n, err := strconv.ParseInt(body, 10, 64)
	if err != nil {
		return 0, err
	}
	return now.Unix() + sign*n*unit, nil
}

// listCache keeps the last few computed result orders: with it, paging through a
// 100k-item listing costs a sort once, not once per page. Entries are keyed by the
// query plus the library version and, for state-dependent queries, the user's state
// version, so any change invalidates them.
type listCache struct {
	mu      sync.Mutex
	entries []cacheEntry
}

type cacheEntry struct {
	key  string
	idxs []int32
}

const listCacheSize = 16

func (c *listCache) get(key string) ([]int32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.entries {
		if e.key == key {
			// move to front
			copy(c.entries[1:i+1], c.entries[:i])
			c.entries[0] = e
			return e.idxs, true
		}
	}
	return nil, false
}

func (c *listCache) put(key string, idxs []int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = append([]cacheEntry{{key, idxs}}, c.entries...)
	if len(c.entries) > listCacheSize {
		c.entries = c.entries[:listCacheSize]
	}
}

// run evaluates q for user u and returns the matching item indexes in order. The
// caller holds s.mu (read).
func (s *Server) run(q *listQuery, u *account) []int32 {
	key := fmt.Sprintf("v%d;%s", s.libVersion, q.key)
	if q.stateDep {
		key = fmt.Sprintf("u%d@%d;%s", u.ID, u.version, key)
	}
	if idxs, ok := s.cache.get(key); ok {
		return idxs
	}
	ev := &evaluator{s: s, user: u}
	cands := s.sections[q.sec].byType[q.typ]
	var out []int32
	if q.filter == nil {
		out = append([]int32(nil), cands...)
	} else {
		for _, idx := range cands {
			if q.filter.eval(ev, idx) {
				out = append(out, idx)
			}
		}
	}
	s.sortIdxs(ev, out, q.sorts)
	s.cache.put(key, out)
	return out
}

// sortIdxs orders idxs by keys, ties broken by ratingKey. Key values are computed
// once per item (columns), not per comparison.
func (s *Server) sortIdxs(ev *evaluator, idxs []int32, keys []sortKey) {
	type col struct {
		k    sortKey
		ints []int64
		strs []string
	}
	cols := make([]col, len(keys))
	for i, k := range keys {
		cols[i].k = k
		if k.f.ftype == ftString {
			cols[i].strs = make([]string, len(idxs))
		} else {
			cols[i].ints = make([]int64, len(idxs))
		}
		for j, idx := range idxs {
			t := ev.up(idx, k.f.up)
			if t < 0 {
				continue
			}
			if k.f.ftype == ftString {
				cols[i].strs[j] = strings.ToLower(ev.str(t, k.f.name))
			} else {
				cols[i].ints[j] = ev.num(t, k.f.name)
			}
		}
	}
	perm := make([]int, len(idxs))
	for i := range perm {
		perm[i] = i
	}
	sort.SliceStable(perm, func(a, b int) bool {
		pa, pb := perm[a], perm[b]
		for _, c := range cols {
			var cmp int
			if c.strs != nil {
				cmp = strings.Compare(c.strs[pa], c.strs[pb])
			} else {
				va, vb := c.ints[pa], c.ints[pb]
				// Unset state values are NULL: smallest, like SQLite, unless nullsLast.
				nullable := stateFields[c.k.f.name] || c.k.f.name == "lastViewedAt"
				if nullable && c.k.nullsLast && (va == 0) != (vb == 0) {
					return vb == 0
				}
				switch {
				case va < vb:
					cmp = -1
				case va > vb:
					cmp = 1
				}
			}
			if cmp != 0 {
				if c.k.desc {
					return cmp > 0
				}
				return cmp < 0
			}
		}
		return idxs[pa] < idxs[pb]
	})
	sorted := make([]int32, len(idxs))
	for i, p := range perm {
		sorted[i] = idxs[p]
	}
	copy(idxs, sorted)
}
