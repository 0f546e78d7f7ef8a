package fake

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// writeDoc sends an encoded document and recycles its buffer.
func writeDoc(w http.ResponseWriter, f format, status int, body []byte) {
	w.Header().Set("Content-Type", f.contentType())
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte, used []byte) {
	if cap(used) > 8<<20 {
		return // do not pin huge buffers
	}
	*b = used[:0]
	bufPool.Put(b)
}

// badRequest answers 400 with PMS's HTML page plus the fake's reason, so a client's
// test failure says what was wrong.
func badRequest(w http.ResponseWriter, reason string) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = fmt.Fprintf(w, "<html><head><title>Bad Request</title></head><body><h1>400 Bad Request</h1><p>plex fake: %s</p></body></html>", html.EscapeString(reason))
}

func (s *Server) handleIdentity(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	b := getBuf()
	e := newEnc(rc.format, *b)
	e.root("MediaContainer")
	e.num("size", 0)
	e.boolean("claimed", true)
	e.str("machineIdentifier", s.opts.MachineIdentifier)
	e.str("version", s.opts.Version)
	out := e.finish()
	writeDoc(w, rc.format, http.StatusOK, out)
	putBuf(b, out)
}

func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	owner := s.Owner()
	b := getBuf()
	e := newEnc(rc.format, *b)
	e.root("MediaContainer")
	dirs := []string{"activities", "butler", "channels", "clients", "diagnostics", "hubs", "library", "livetv", "media", "player", "playlists", "resources", "search", "server", "servers", "statistics", "system", "transcode", "updater", "user"}
	e.num("size", int64(len(dirs)))
	e.boolean("allowCameraUpload", false)
	e.boolean("allowChannelAccess", true)
	e.boolean("allowSharing", true)
	e.boolean("allowSync", true)
	e.boolean("allowTuners", false)
	e.boolean("certificate", true)
	e.str("friendlyName", s.opts.FriendlyName)
	e.str("machineIdentifier", s.opts.MachineIdentifier)
	e.boolean("multiuser", true)
	e.boolean("myPlex", true)
	e.str("myPlexMappingState", "mapped")
	e.str("myPlexSigninState", "ok")
	e.boolean("myPlexSubscription", true)
	e.str("myPlexUsername", owner.Email)
	e.str("platform", "Linux")
	e.str("platformVersion", "6.1.0")
	e.num("transcoderActiveVideoSessions", 0)
	e.num("updatedAt", s.now().Unix())
	e.str("version", s.opts.Version)
	e.group("Directory")
	for _, d := range dirs {
		e.open("Directory")
		e.num("count", 1)
		e.str("key", d)
		e.str("title", d)
		e.close()
	}
	e.endGroup()
	out := e.finish()
	writeDoc(w, rc.format, http.StatusOK, out)
	putBuf(b, out)
}

func (s *Server) handleSections(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var visible []*section
	for _, sec := range s.sections {
		if rc.user.canSee(sec) {
			visible = append(visible, sec)
		}
	}
	b := getBuf()
	e := newEnc(rc.format, *b)
	e.root("MediaContainer")
	e.num("size", int64(len(visible)))
	e.boolean("allowSync", true)
	e.str("title1", "Plex Library")
	e.group("Directory")
	for _, sec := range visible {
		e.open("Directory")
		e.boolean("allowSync", true)
		e.str("art", "/:/resources/"+sec.spec.Type+"-fanart.jpg")
		e.str("composite", "/library/sections/"+sec.spec.Key+"/composite/"+strconv.FormatInt(sec.created, 10))
		e.boolean("filters", true)
		e.boolean("refreshing", false)
		e.str("thumb", "/:/resources/"+sec.spec.Type+".png")
		e.str("key", sec.spec.Key)
		e.str("type", sec.spec.Type)
		e.str("title", sec.spec.Title)
		e.str("agent", sec.spec.Agent)
		e.str("scanner", scannerFor(sec.spec.Type))
		e.str("language", "en-US")
		e.str("uuid", sec.uuid)
		e.num("updatedAt", sec.created)
		e.num("createdAt", sec.created)
		e.num("scannedAt", sec.created)
		e.boolean("content", true)
		e.boolean("directory", true)
		e.num("contentChangedAt", int64(s.libVersion)+1000)
		e.group("Location")
		e.open("Location")
		e.num("id", int64(len(sec.spec.Key)))
		e.str("path", sec.location)
		e.close()
		e.endGroup()
		e.close()
	}
	e.endGroup()
	out := e.finish()
	writeDoc(w, rc.format, http.StatusOK, out)
	putBuf(b, out)
}

func scannerFor(t string) string {
	switch t {
	case "movie":
		return "Plex Movie"
	case "show":
		return "Plex TV Series"
	}
	return "Plex Music"
}

// paging reads X-Plex-Container-Start/-Size from the query or, failing that, the
// headers (PMS accepts every X-Plex-* value both ways). asked reports whether the
// client paged at all; size < 0 means "everything".
func paging(r *http.Request) (start, size int, asked bool, err error) {
	get := func(name string) (string, bool) {
		if v := r.URL.Query().Get(name); v != "" {
			return v, true
		}
		if v := r.Header.Get(name); v != "" {
			return v, true
		}
		return "", false
	}
	size = -1
	if v, ok := get("X-Plex-Container-Start"); ok {
		asked = true
		if start, err = strconv.Atoi(v); err != nil || start < 0 {
			return 0, 0, true, fmt.Errorf("X-Plex-Container-Start %q is not a non-negative integer", v)
		}
	}
	if v, ok := get("X-Plex-Container-Size"); ok {
		asked = true
		if size, err = strconv.Atoi(v); err != nil || size < 0 {
			return 0, 0, true, fmt.Errorf("X-Plex-Container-Size %q is not a non-negative integer", v)
		}
	}
	return start, size, asked, nil
}

func (s *Server) sectionByKey(key string) (int, *section) {
	for i, sec := range s.sections {
		if sec.spec.Key == key {
			return i, sec
		}
	}
	return -1, nil
}

var (
	title2ByType    = map[kind]string{kindMovie: "All Movies", kindShow: "All Shows", kindSeason: "All Seasons", kindEpisode: "All Episodes"}
	viewGroupByType = map[kind]string{kindMovie: "movie", kindShow: "show", kindSeason: "season", kindEpisode: "episode"}
)

func (s *Server) handleSectionAll(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	start, size, asked, err := paging(r)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	secIdx, sec := s.sectionByKey(r.PathValue("key"))
	if sec == nil || !rc.user.canSee(sec) {
		writeHTMLStatus(w, http.StatusNotFound)
		return
	}
	q, err := parseListQuery(r.URL.RawQuery, sec, secIdx, s.now())
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	s.noteIgnored(q.ignored)
	idxs := s.run(q, rc.user)
	if q.limit > 0 && len(idxs) > q.limit {
		idxs = idxs[:q.limit]
	}
	total := len(idxs)
	page := pageOf(idxs, start, size)

	h := w.Header()
	h.Set("X-Plex-Container-Start", strconv.Itoa(start))
	h.Set("X-Plex-Container-Total-Size", strconv.Itoa(total))
	if r.Method == http.MethodHead {
		// WatchState counts a library with HEAD: headers only.
		h.Set("Content-Type", rc.format.contentType())
		w.WriteHeader(http.StatusOK)
		return
	}
	b := getBuf()
	e := newEnc(rc.format, *b)
	e.root("MediaContainer")
	e.num("size", int64(len(page)))
	if asked {
		e.num("totalSize", int64(total))
		e.num("offset", int64(start))
	}
	s.writeSectionContainerAttrs(e, sec, q.typ)
	if len(page) > 0 {
		e.group("Metadata")
		includeGuids := r.URL.Query().Get("includeGuids") == "1"
		for _, idx := range page {
			s.writeItem(e, idx, rc.user, itemView{includeGuids: includeGuids})
		}
		e.endGroup()
	}
	out := e.finish()
	s.countItems(rc.route, len(page))
	writeDoc(w, rc.format, http.StatusOK, out)
	putBuf(b, out)
}

func pageOf(idxs []int32, start, size int) []int32 {
	if start >= len(idxs) {
		return nil
	}
	end := len(idxs)
	if size >= 0 && start+size < end {
		end = start + size
	}
	return idxs[start:end]
}

func (s *Server) writeSectionContainerAttrs(e *enc, sec *section, t kind) {
	e.boolean("allowSync", true)
	e.str("art", "/:/resources/"+sec.spec.Type+"-fanart.jpg")
	e.str("identifier", "com.plexapp.plugins.library")
	secID, _ := strconv.Atoi(sec.spec.Key)
	e.num("librarySectionID", int64(secID))
	e.str("librarySectionTitle", sec.spec.Title)
	e.str("librarySectionUUID", sec.uuid)
	e.str("mediaTagPrefix", "/system/bundle/media/flags/")
	e.num("mediaTagVersion", 1690992652)
	if sec.spec.Type == "show" {
		e.boolean("nocache", true)
	}
	e.str("thumb", "/:/resources/"+sec.spec.Type+".png")
	e.str("title1", sec.spec.Title)
	if t2, ok := title2ByType[t]; ok {
		e.str("title2", t2)
	}
	if vg, ok := viewGroupByType[t]; ok {
		e.str("viewGroup", vg)
	}
	e.num("viewMode", 65592)
}

// handleMetadata serves /library/metadata/{ids}: one or more comma-separated
// ratingKeys. The detail view carries Guid[] whether or not includeGuids=1 is sent.
func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var found []int32
	for _, id := range strings.Split(r.PathValue("ids"), ",") {
		idx, ok := s.lookup(strings.TrimSpace(id))
		if ok && rc.user.canSee(s.sections[s.items[idx].section]) {
			found = append(found, idx)
		}
	}
	if len(found) == 0 {
		writeHTMLStatus(w, http.StatusNotFound)
		return
	}
	s.writeItemList(w, rc, found, len(found), 0, false, "")
}

// writeItemList writes a MediaContainer of items with section attributes per item.
func (s *Server) writeItemList(w http.ResponseWriter, rc *reqCtx, page []int32, total, start int, asked bool, parentAttrs string) {
	h := w.Header()
	h.Set("X-Plex-Container-Start", strconv.Itoa(start))
	h.Set("X-Plex-Container-Total-Size", strconv.Itoa(total))
	b := getBuf()
	e := newEnc(rc.format, *b)
	e.root("MediaContainer")
	e.num("size", int64(len(page)))
	if asked {
		e.num("totalSize", int64(total))
		e.num("offset", int64(start))
	}
	e.boolean("allowSync", true)
	e.str("identifier", "com.plexapp.plugins.library")
	if len(page) > 0 {
		sec := s.sections[s.items[page[0]].section]
		secID, _ := strconv.Atoi(sec.spec.Key)
		e.num("librarySectionID", int64(secID))
		e.str("librarySectionTitle", sec.spec.Title)
		e.str("librarySectionUUID", sec.uuid)
	}
	e.str("mediaTagPrefix", "/system/bundle/media/flags/")
	e.num("mediaTagVersion", 1690992652)
	if parentAttrs != "" {
		e.str("title1", parentAttrs)
	}
	if len(page) > 0 {
		e.group("Metadata")
		for _, idx := range page {
			s.writeItem(e, idx, rc.user, itemView{includeGuids: true, withSection: true})
		}
		e.endGroup()
	}
	out := e.finish()
	s.countItems(rc.route, len(page))
	writeDoc(w, rc.format, http.StatusOK, out)
	putBuf(b, out)
}

func (s *Server) handleChildren(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.listUnder(w, r, rc, false)
}

func (s *Server) handleAllLeaves(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.listUnder(w, r, rc, true)
}

// listUnder serves a show's seasons (children), a season's episodes (children) or all
// episodes of a show or season (allLeaves), with paging.
func (s *Server) listUnder(w http.ResponseWriter, r *http.Request, rc *reqCtx, leaves bool) {
	start, size, asked, err := paging(r)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	idx, ok := s.lookup(r.PathValue("id"))
	if !ok || !rc.user.canSee(s.sections[s.items[idx].section]) {
		writeHTMLStatus(w, http.StatusNotFound)
		return
	}
	it := &s.items[idx]
	var list []int32
	switch {
	case it.ext == nil:
		// movies and episodes have no children
	case leaves:
		list = s.leaves(idx)
	default:
		list = it.ext.children
	}
	s.writeItemList(w, rc, pageOf(list, start, size), len(list), start, asked, s.title(idx))
}

// handleAccounts lists the server-local accounts: 0 (the unnamed system account), 1
// (the owner, whatever its plex.tv id) and every other user under its plex.tv id.
func (s *Server) handleAccounts(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if rc.user.Kind != Owner {
		writeHTMLStatus(w, s.opts.NonAdminStatus)
		return
	}
	s.mu.RLock()
	accts := append([]*account(nil), s.accounts...)
	s.mu.RUnlock()
	b := getBuf()
	e := newEnc(rc.format, *b)
	e.root("MediaContainer")
	e.num("size", int64(len(accts)+1))
	e.str("identifier", "com.plexapp.system.accounts")
	e.group("Account")
	write := func(id int, name string) {
		e.open("Account")
		e.num("id", int64(id))
		e.str("key", "/accounts/"+strconv.Itoa(id))
		e.str("name", name)
		e.str("defaultAudioLanguage", "en")
		e.boolean("autoSelectAudio", true)
		e.str("defaultSubtitleLanguage", "en")
		e.num("subtitleMode", 1)
		e.str("thumb", "")
		e.close()
	}
	write(0, "")
	for _, a := range accts {
		name := a.Username
		if name == "" {
			name = a.Title
		}
		write(a.localID(), name)
	}
	e.endGroup()
	out := e.finish()
	writeDoc(w, rc.format, http.StatusOK, out)
	putBuf(b, out)
}

// itemFromParams resolves the item of a scrobble-like request: key=<ratingKey>, or
// uri=…/library/metadata/<ratingKey>. It writes the error response itself.
func (s *Server) itemFromParams(w http.ResponseWriter, r *http.Request, keyParam string) (int32, bool) {
	q := r.URL.Query()
	if id := q.Get("identifier"); id != "" && id != "com.plexapp.plugins.library" {
		writeHTMLStatus(w, http.StatusNotFound)
		return 0, false
	}
	key := q.Get(keyParam)
	if key == "" && keyParam == "ratingKey" {
		key = q.Get("key")
	}
	if key == "" {
		if u := q.Get("uri"); u != "" {
			if dec, err := url.PathUnescape(u); err == nil {
				u = dec
			}
			if i := strings.LastIndex(u, "/library/metadata/"); i >= 0 {
				key = u[i+len("/library/metadata/"):]
			}
		}
	}
	key = strings.TrimPrefix(key, "/library/metadata/")
	if key == "" {
		badRequest(w, "missing "+keyParam+" (the ratingKey) or uri")
		return 0, false
	}
	s.mu.RLock()
	idx, ok := s.lookup(key)
	s.mu.RUnlock()
	if !ok {
		writeHTMLStatus(w, http.StatusNotFound)
		return 0, false
	}
	return idx, true
}

// writeEmptyOK is the 200 with no body that /:/scrobble and /:/unscrobble answer.
func writeEmptyOK(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// handleScrobble marks an item watched for the token's user: one more view and
// lastViewedAt = the server's clock (it takes no date). PMS sends no webhook for it.
func (s *Server) handleScrobble(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.markLeaves(w, r, rc, s.markWatched)
}

// handleUnscrobble clears viewCount, lastViewedAt and viewOffset for the token's user.
func (s *Server) handleUnscrobble(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.markLeaves(w, r, rc, func(u *account, leaf int32, _ int64) { s.markUnwatched(u, leaf) })
}

// markLeaves is the shared shape of /:/scrobble and /:/unscrobble: the item
// (or a show's or season's episodes) named by key, marked for the token's user.
func (s *Server) markLeaves(w http.ResponseWriter, r *http.Request, rc *reqCtx, mark func(u *account, leaf int32, now int64)) {
	if r.URL.Query().Get("identifier") == "" {
		badRequest(w, "missing identifier (com.plexapp.plugins.library)")
		return
	}
	idx, ok := s.itemFromParams(w, r, "key")
	if !ok {
		return
	}
	s.mu.Lock()
	now := s.now().Unix()
	for _, l := range s.leaves(idx) {
		mark(rc.user, l, now)
	}
	s.mu.Unlock()
	writeEmptyOK(w)
}

// clientID reads X-Plex-Client-Identifier from the header or the query.
func clientID(r *http.Request) string {
	if v := r.Header.Get("X-Plex-Client-Identifier"); v != "" {
		return v
	}
	return r.URL.Query().Get("X-Plex-Client-Identifier")
}

// handleTimeline is a player's timeline report. It only takes effect with both an
// X-Plex-Client-Identifier and a duration (WatchState: "Without duration & client
// identifier plex ignores watch progress update"); otherwise 200 and nothing.
func (s *Server) handleTimeline(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q := r.URL.Query()
	state := q.Get("state")
	switch state {
	case "playing", "paused", "buffering", "stopped":
	case "":
		badRequest(w, "missing state (playing, paused, buffering or stopped)")
		return
	default:
		badRequest(w, fmt.Sprintf("state %q is not playing, paused, buffering or stopped", state))
		return
	}
	idx, ok := s.itemFromParams(w, r, "ratingKey")
	if !ok {
		return
	}
	timeMS, err1 := strconv.ParseInt(q.Get("time"), 10, 64)
	if q.Get("time") == "" {
		timeMS, err1 = 0, nil
	}
	durationMS, err2 := strconv.ParseInt(q.Get("duration"), 10, 64)
	if err1 != nil || timeMS < 0 {
		badRequest(w, fmt.Sprintf("time %q is not milliseconds", q.Get("time")))
		return
	}
	cid := clientID(r)
	var deliveries []delivery
	if cid != "" && err2 == nil && durationMS > 0 {
		s.mu.Lock()
		if k := s.items[idx].kind; k == kindMovie || k == kindEpisode {
			pl := player{id: cid, title: r.Header.Get("X-Plex-Device-Name"), local: true, address: "192.168.1.20"}
			if pl.title == "" {
				pl.title = r.Header.Get("X-Plex-Product")
			}
			deliveries = s.playbackLocked(rc.user, idx, pl, state, timeMS)
		}
		s.mu.Unlock()
	}
	s.deliver(r.Context(), deliveries)

	b := getBuf()
	e := newEnc(rc.format, *b)
	e.root("MediaContainer")
	e.num("size", 0)
	out := e.finish()
	writeDoc(w, rc.format, http.StatusOK, out)
	putBuf(b, out)
}

// handleProgress is the legacy /:/progress (key, time, state). WatchState notes it
// does not update other ("external") users' progress the way /:/timeline does: the
// fake ignores it for shared users.
func (s *Server) handleProgress(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q := r.URL.Query()
	idx, ok := s.itemFromParams(w, r, "key")
	if !ok {
		return
	}
	timeMS, err := strconv.ParseInt(q.Get("time"), 10, 64)
	if err != nil || timeMS < 0 {
		badRequest(w, fmt.Sprintf("time %q is not milliseconds", q.Get("time")))
		return
	}
	s.mu.Lock()
	if k := s.items[idx].kind; (k == kindMovie || k == kindEpisode) && rc.user.Kind != SharedUser {
		s.setOffset(rc.user, idx, timeMS, s.now().Unix())
	}
	s.mu.Unlock()
	writeEmptyOK(w)
}

func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if rc.user.Kind != Owner {
		// A shared or Home user's token cannot read sessions (401 on PMS 1.46, 403 on 1.47).
		writeHTMLStatus(w, s.opts.NonAdminStatus)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	b := getBuf()
	e := newEnc(rc.format, *b)
	e.root("MediaContainer")
	e.num("size", int64(len(s.sessions)))
	if len(s.sessions) > 0 {
		e.group("Metadata")
		for _, ss := range s.sessions {
			s.writeItem(e, ss.idx, ss.user, itemView{includeGuids: true, withSection: true, offset: ss.offset, session: ss})
		}
		e.endGroup()
	}
	out := e.finish()
	writeDoc(w, rc.format, http.StatusOK, out)
	putBuf(b, out)
}
