package fakeserver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Delivery is one webhook request the fake sent.
type Delivery struct {
	Time        time.Time
	URL         string
	Event       string // NotificationType (Jellyfin) or Event (Emby)
	UserID      string // the user the event is about; "" for library/system events
	ContentType string
	Header      http.Header
	Body        []byte // exactly as sent
	Status      int    // the receiver's answer; 0 when the request failed
	Err         string
}

// hookEvent is an event to deliver; its body is fully built when the event happens, so
// delivery never reads library state.
type hookEvent struct {
	name string
	user int // -1: none
	jf   *dict
	// emby bodies: with and without the User object ("Limit user events to").
	embyWithUser, embyNoUser []byte
}

type outgoing struct {
	target *WebhookTarget
	ev     hookEvent
	req    builtRequest
}

type builtRequest struct {
	contentType string
	body        []byte
}

// webhookQueue delivers events in order, one at a time, from a goroutine that exists only
// while there is work (so a forgotten server leaks nothing).
type webhookQueue struct {
	s         *Server
	mu        sync.Mutex
	idle      *sync.Cond
	pending   []outgoing
	running   bool
	delivered []Delivery
}

func (q *webhookQueue) init(s *Server) {
	q.s = s
	q.idle = sync.NewCond(&q.mu)
}

// wants is false when no destination is configured: events are then not even built.
func (s *Server) wantsHooks() bool { return len(s.cfg.Webhooks) > 0 }

func (q *webhookQueue) send(evs ...hookEvent) {
	if len(evs) == 0 {
		return
	}
	s := q.s
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, ev := range evs {
		for i := range s.cfg.Webhooks {
			t := &s.cfg.Webhooks[i]
			req, ok := s.render(t, ev)
			if !ok {
				continue
			}
			q.pending = append(q.pending, outgoing{target: t, ev: ev, req: req})
		}
	}
	if !q.running && len(q.pending) > 0 {
		q.running = true
		go q.drain()
	}
}

func (q *webhookQueue) drain() {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running = false
			q.idle.Broadcast()
			q.mu.Unlock()
			return
		}
		o := q.pending[0]
		q.pending = q.pending[1:]
		q.mu.Unlock()
		d := q.s.deliver(o)
		q.mu.Lock()
		q.delivered = append(q.delivered, d)
		q.mu.Unlock()
	}
}

func (s *Server) deliver(o outgoing) Delivery {
	d := Delivery{Time: s.cfg.Now(), URL: o.target.URL, Event: o.ev.name, ContentType: o.req.contentType, Body: o.req.body}
	if o.ev.user >= 0 {
		d.UserID = s.users[o.ev.user].ID
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, o.target.URL, bytes.NewReader(o.req.body))
	if err != nil {
		d.Err = err.Error()
		return d
	}
	if s.cfg.Flavor == Jellyfin {
		// The server's named HttpClient: product header from the server name ("Jellyfin
		// Server" -> "Jellyfin-Server") plus its Accept list [src Jellyfin.Server/Startup.cs].
		req.Header.Set("User-Agent", "Jellyfin-Server/"+s.cfg.Version)
		req.Header.Set("Accept", "application/json, application/xml, */*")
	} else {
		req.Header.Set("User-Agent", "Emby Server/"+s.cfg.Version)
	}
	for k, v := range o.target.Headers {
		if strings.EqualFold(k, "Content-Type") {
			continue // set on the content, below
		}
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", o.req.contentType)
	d.Header = req.Header.Clone()
	resp, err := s.cfg.WebhookClient.Do(req)
	if err != nil {
		d.Err = err.Error()
		s.log.Debug().Str("event", o.ev.name).Err(err).Msg("webhook delivery failed")
		return d
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	d.Status = resp.StatusCode
	return d
}

// FlushWebhooks waits until every queued webhook has been delivered (or failed).
func (s *Server) FlushWebhooks(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.hooks.mu.Lock()
		for s.hooks.running || len(s.hooks.pending) > 0 {
			s.hooks.idle.Wait()
		}
		s.hooks.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("fakeserver: flush webhooks: %w", ctx.Err())
	}
}

// Deliveries returns the webhooks sent so far, in order.
func (s *Server) Deliveries() []Delivery {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	return append([]Delivery(nil), s.hooks.delivered...)
}

// render builds the request for one destination, or reports that the destination's filters
// drop the event.
func (s *Server) render(t *WebhookTarget, ev hookEvent) (builtRequest, bool) {
	if len(t.Events) > 0 {
		found := false
		for _, e := range t.Events {
			if strings.EqualFold(e, ev.name) {
				found = true
				break
			}
		}
		if !found {
			return builtRequest{}, false
		}
	}
	listed := false
	if ev.user >= 0 {
		for _, name := range t.Users {
			if strings.EqualFold(name, s.users[ev.user].Name) {
				listed = true
			}
		}
	}
	if s.cfg.Flavor == Jellyfin {
		// UserFilter: events about a user not in the list are dropped; events without a user
		// (ItemAdded) always pass.
		if ev.user >= 0 && len(t.Users) > 0 && !listed {
			return builtRequest{}, false
		}
		d := ev.jf.clone()
		for k, v := range t.Fields {
			d.setStr(k, v)
		}
		if t.Format == FormatForm {
			return builtRequest{"application/x-www-form-urlencoded", []byte(d.form(!t.NoQuoteEscape))}, true
		}
		ct := "text/plain; charset=utf-8"
		if t.Format == FormatJSON {
			ct = "application/json; charset=utf-8"
		}
		for k, v := range t.Headers {
			if strings.EqualFold(k, "Content-Type") && v != "" {
				ct = v + "; charset=utf-8"
			}
		}
		return builtRequest{ct, d.json(!t.NoQuoteEscape)}, true
	}
	body := ev.embyNoUser
	if listed {
		body = ev.embyWithUser
	}
	if t.Format == FormatMultipart {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormField("data")
		_, _ = fw.Write(body)
		_ = mw.Close()
		return builtRequest{mw.FormDataContentType(), buf.Bytes()}, true
	}
	return builtRequest{"application/json; charset=utf-8", body}, true
}

// dict is the Jellyfin plugin's Dictionary<string, object>: insertion-ordered, and setting
// an existing key keeps its position (that is why Year sits before SeriesName even though
// episodes overwrite it with the series' year).
type dict struct {
	keys []string
	vals []dval
}

type dval struct {
	kind byte // 's' string, 'n' int, 'f' float, 'b' bool, 'z' null, 't' UTC date, 'l' local date
	s    string
	n    int64
	f    float64
	b    bool
	t    time.Time
	esc  bool // passed through the plugin's Escape(): `"` becomes `\"` before serialisation
}

func (d *dict) set(k string, v dval) {
	for i, key := range d.keys {
		if strings.EqualFold(key, k) { // the plugin's dictionary is case-insensitive
			d.vals[i] = v
			return
		}
	}
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
}

func (d *dict) setStr(k, v string)           { d.set(k, dval{kind: 's', s: v}) }
func (d *dict) setEsc(k, v string)           { d.set(k, dval{kind: 's', s: v, esc: true}) }
func (d *dict) setInt(k string, v int64)     { d.set(k, dval{kind: 'n', n: v}) }
func (d *dict) setBool(k string, v bool)     { d.set(k, dval{kind: 'b', b: v}) }
func (d *dict) setNull(k string)             { d.set(k, dval{kind: 'z'}) }
func (d *dict) setUTC(k string, t time.Time) { d.set(k, dval{kind: 't', t: t}) }
func (d *dict) setFloat(k string, v float64) { d.set(k, dval{kind: 'f', f: v}) }

func (d *dict) clone() *dict {
	return &dict{keys: append([]string(nil), d.keys...), vals: append([]dval(nil), d.vals...)}
}

func (v dval) text(escape bool) string {
	if v.esc && escape {
		return strings.ReplaceAll(v.s, `"`, `\"`)
	}
	return v.s
}

// json is JsonSerializer.Serialize(dictionary, JsonDefaults.Options).
func (d *dict) json(escape bool) []byte {
	w := &jw{jellyfin: true}
	w.obj()
	for i, k := range d.keys {
		v := d.vals[i]
		w.key(k)
		switch v.kind {
		case 's':
			w.str(v.text(escape))
		case 'n':
			w.num(v.n)
		case 'f':
			w.float(v.f)
		case 'b':
			w.boolean(v.b)
		case 'z':
			w.null()
		case 't':
			w.str(jellyfinDate(v.t.UTC()))
		case 'l':
			w.str(jellyfinLocalDate(v.t))
		}
	}
	w.endObj()
	return w.b
}

// form is the Generic Form destination: every value as text (true/false, numbers as JSON
// writes them, null as "") [wire-formats §3.1].
func (d *dict) form(escape bool) string {
	var b strings.Builder
	for i, k := range d.keys {
		v := d.vals[i]
		var s string
		switch v.kind {
		case 's':
			s = v.text(escape)
		case 'n':
			s = strconv.FormatInt(v.n, 10)
		case 'f':
			s = strconv.FormatFloat(v.f, 'g', -1, 64)
		case 'b':
			s = strconv.FormatBool(v.b)
		case 't':
			s = jellyfinDate(v.t.UTC())
		case 'l':
			s = jellyfinLocalDate(v.t)
		}
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(s))
	}
	return b.String()
}

// jellyfinLocalDate is DateTime.Now through Jellyfin's converter: with milliseconds the
// writer adds the local offset ("+02:00", "+00:00" on a UTC host [obs]); at exactly zero
// milliseconds the literal format writes a wrong "Z" [src].
func jellyfinLocalDate(t time.Time) string {
	t = t.Truncate(100 * time.Nanosecond)
	if t.Nanosecond()/1_000_000 == 0 {
		return t.Format("2006-01-02T15:04:05") + "." + pad(t.Nanosecond()/100, 7) + "Z"
	}
	frac := pad(t.Nanosecond()/100, 7)
	for frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	return t.Format("2006-01-02T15:04:05") + "." + frac + t.Format("-07:00")
}

// Jellyfin event bodies (jellyfin-plugin-webhook Helpers/DataObjectHelpers.cs [src]).

func (s *Server) jfBase(notificationType string) *dict {
	d := &dict{}
	d.setStr("ServerId", s.serverID)
	d.setEsc("ServerName", s.cfg.ServerName)
	d.setStr("ServerVersion", s.cfg.Version)
	d.setStr("ServerUrl", s.cfg.WebhookServerURL)
	d.setStr("NotificationType", notificationType)
	return d
}

// jfItem is AddBaseItemData: item keys, episode keys, Provider_<lower-cased key>, streams.
func (s *Server) jfItem(d *dict, r itemRec) {
	now := s.cfg.Now()
	d.set("Timestamp", dval{kind: 'l', t: now.In(s.cfg.Location)})
	d.setUTC("UtcTimestamp", now)
	d.setEsc("Name", r.name)
	d.setEsc("Overview", r.overview)
	d.setEsc("Tagline", "")
	d.setStr("ItemId", s.itemID(r.idx))
	d.setEsc("ItemType", r.kind.typeName())
	d.setInt("RunTimeTicks", r.runTicks)
	d.setStr("RunTime", hhmmss(r.runTicks))
	if r.year > 0 {
		d.setInt("Year", int64(r.year))
	}
	if !r.premiere.IsZero() {
		d.setStr("PremiereDate", r.premiere.Format("2006-01-02"))
	}
	if r.kind == kindEpisode || r.kind == kindSeason {
		series, _ := s.item(r.series)
		d.setEsc("SeriesName", series.name)
		d.setStr("SeriesId", s.itemID(r.series))
		seasonNum := r.index
		if r.kind == kindEpisode {
			d.setStr("SeasonId", s.itemID(r.season))
			if !series.premiere.IsZero() {
				d.setStr("SeriesPremiereDate", series.premiere.Format("2006-01-02"))
			}
			seasonNum = r.parentIdx
		}
		d.setInt("SeasonNumber", int64(seasonNum))
		d.setStr("SeasonNumber00", pad(seasonNum, 2))
		d.setStr("SeasonNumber000", pad(seasonNum, 3))
		if r.kind == kindEpisode {
			d.setInt("EpisodeNumber", int64(r.index))
			d.setStr("EpisodeNumber00", pad(r.index, 2))
			d.setStr("EpisodeNumber000", pad(r.index, 3))
		}
		if series.year > 0 {
			d.setInt("Year", int64(series.year)) // episodes report the series' year
		}
	}
	for _, p := range r.providers {
		d.setStr("Provider_"+strings.ToLower(p.key), p.val)
	}
	if r.kind.isVideo() {
		jfStreams(d)
	}
}

// jfStreams: the same streams for every generated video, shaped like the 10.10.3 captures
// (one video, two audio, two subtitle streams; null colour fields are written as null).
func jfStreams(d *dict) {
	d.setStr("Video_0_Title", "1080p HEVC SDR")
	d.setStr("Video_0_Type", "Video")
	d.setStr("Video_0_Codec", "hevc")
	d.setStr("Video_0_Profile", "Main 10")
	d.setInt("Video_0_Level", 120)
	d.setInt("Video_0_Height", 1080)
	d.setInt("Video_0_Width", 1920)
	d.setStr("Video_0_AspectRatio", "16:9")
	d.setBool("Video_0_Interlaced", false)
	d.setFloat("Video_0_FrameRate", 23.976025)
	d.setStr("Video_0_VideoRange", "SDR")
	d.setStr("Video_0_ColorSpace", "bt709")
	d.setNull("Video_0_ColorTransfer")
	d.setNull("Video_0_ColorPrimaries")
	d.setStr("Video_0_PixelFormat", "yuv420p10le")
	d.setInt("Video_0_RefFrames", 1)
	for i, a := range []struct {
		title, lang string
		ch, rate    int64
		bitrate     int64
		def         bool
	}{{"English - AAC - Stereo - Default", "eng", 2, 48000, 128000, true}, {"Japanese - AAC - Stereo", "jpn", 2, 48000, 236321, false}} {
		p := "Audio_" + strconv.Itoa(i) + "_"
		d.setStr(p+"Title", a.title)
		d.setStr(p+"Type", "Audio")
		d.setStr(p+"Language", a.lang)
		d.setStr(p+"Codec", "aac")
		d.setInt(p+"Channels", a.ch)
		d.setInt(p+"Bitrate", a.bitrate)
		d.setInt(p+"SampleRate", a.rate)
		d.setBool(p+"Default", a.def)
	}
	for i, t := range []struct {
		title string
		def   bool
	}{{"Eng - Default - Forced - SUBRIP", true}, {"Eng - SUBRIP", false}} {
		p := "Subtitle_" + strconv.Itoa(i) + "_"
		d.setStr(p+"Title", t.title)
		d.setStr(p+"Type", "Subtitle")
		d.setStr(p+"Language", "eng")
		d.setStr(p+"Codec", "subrip")
		d.setBool(p+"Default", t.def)
		d.setBool(p+"Forced", t.def)
		d.setBool(p+"External", false)
	}
}

// jfUserDataSaved is UserDataSavedNotifierEntryPoint [src]: item data, AddUserItemData, then
// SaveReason, NotificationUsername (not escaped here) and UserId.
func (s *Server) jfUserDataSaved(u int, r itemRec, d userData, reason string) *dict {
	dd := s.jfBase("UserDataSaved")
	s.jfItem(dd, r)
	dd.setBool("Likes", false)
	dd.setInt("Rating", 0)
	dd.setInt("PlaybackPositionTicks", d.position)
	dd.setStr("PlaybackPosition", hhmmss(d.position))
	dd.setInt("PlayCount", int64(d.playCount))
	dd.setBool("Favorite", d.favorite)
	dd.setBool("Played", d.played)
	dd.setInt("AudioStreamIndex", -1)
	dd.setInt("SubtitleStreamIndex", -1)
	if !d.lastPlay.IsZero() {
		dd.setUTC("LastPlayedDate", d.lastPlay)
	}
	dd.setStr("SaveReason", reason)
	dd.setStr("NotificationUsername", s.users[u].Name)
	dd.setStr("UserId", s.users[u].ID)
	return dd
}

// Emby event bodies (native webhooks; shapes from the 4.7.13 captures and 4.8.11 reports).

type embyEvent struct {
	event   string
	title   string
	user    int
	item    *itemRec
	session *session
	// playback info; nil for non-playback events
	position  *int64
	completed *bool
}

func (s *Server) embyBody(e embyEvent, withUser bool) []byte {
	now := s.cfg.Now()
	w := s.newJW()
	w.obj()
	w.kstr("Title", e.title)
	if s.ver.atLeast(emby48) {
		// Newer servers add a localized date line ("Freitag, 13. Juni 2025 19:17" [obs]).
		w.kstr("Description", now.In(s.cfg.Location).Format("Monday, 2 January 2006 15:04"))
	}
	w.kstr("Date", embyDate(now))
	w.kstr("Event", e.event)
	if withUser && e.user >= 0 {
		w.kobj("User")
		w.kstr("Name", s.users[e.user].Name)
		w.kstr("Id", s.users[e.user].ID)
		w.endObj()
	}
	if e.item != nil {
		w.key("Item")
		s.writeEmbyHookItem(w, *e.item)
	}
	w.kobj("Server")
	w.kstr("Name", s.cfg.ServerName)
	w.kstr("Id", s.serverID)
	w.kstr("Version", s.cfg.Version)
	w.endObj()
	if e.session != nil {
		w.kobj("Session")
		w.kstr("RemoteEndPoint", e.session.remote)
		w.kstr("Client", e.session.client)
		w.kstr("DeviceName", e.session.device)
		w.kstr("DeviceId", e.session.deviceID)
		w.kstr("ApplicationVersion", s.cfg.Version)
		w.kstr("Id", e.session.id)
		w.endObj()
	}
	if e.position != nil {
		w.kobj("PlaybackInfo")
		if e.completed != nil { // only playback.stop carries it [obs; ani-rss#574]
			w.kbool("PlayedToCompletion", *e.completed)
		}
		w.knum("PositionTicks", *e.position)
		w.knum("PlaylistIndex", 0)
		w.knum("PlaylistLength", 1)
		w.endObj()
	}
	w.endObj()
	return w.b
}

// writeEmbyHookItem writes the webhook's Item: a BaseItemDto with the fields the captures
// carry (no UserData: no capture shows it, WatchState reads it only "if present").
func (s *Server) writeEmbyHookItem(w *jw, r itemRec) {
	w.obj()
	w.kstr("Name", r.name)
	w.kstr("ServerId", s.serverID)
	w.kstr("Id", s.itemID(r.idx))
	w.kstr("DateCreated", embyDate(r.created))
	if r.kind.isVideo() {
		w.kstr("Container", "mkv")
	}
	w.kstr("SortName", r.name)
	if !r.premiere.IsZero() {
		w.kstr("PremiereDate", embyDate(r.premiere))
	}
	w.kstr("Path", r.path)
	if r.kind == kindMovie && r.overview != "" {
		w.kstr("Overview", r.overview)
	}
	w.karr("Taglines")
	w.endArr()
	w.karr("Genres")
	w.endArr()
	if r.runTicks > 0 {
		w.knum("RunTimeTicks", r.runTicks)
	}
	if r.kind.isVideo() {
		w.kstr("FileName", r.path[strings.LastIndexByte(r.path, '/')+1:])
	}
	if r.year > 0 {
		w.knum("ProductionYear", int64(r.year))
	}
	if r.kind == kindEpisode {
		w.knum("IndexNumber", int64(r.index))
		w.knum("ParentIndexNumber", int64(r.parentIdx))
	}
	w.kobj("ProviderIds")
	for _, p := range r.providers {
		w.kstr(p.key, p.val)
	}
	w.endObj()
	w.kbool("IsFolder", r.kind.isFolder())
	if r.parent >= 0 {
		w.kstr("ParentId", s.itemID(r.parent))
	}
	w.kstr("Type", r.kind.typeName())
	if r.kind == kindEpisode {
		series, _ := s.item(r.series)
		w.kstr("SeriesName", series.name)
		w.kstr("SeriesId", s.itemID(r.series))
		w.kstr("SeasonId", s.itemID(r.season))
		w.kstr("SeasonName", "Season "+strconv.Itoa(r.parentIdx))
	}
	if r.kind.isVideo() {
		w.kstr("MediaType", "Video")
	}
	w.endObj()
}

func (s *Server) embyHook(e embyEvent) hookEvent {
	return hookEvent{name: e.event, user: e.user, embyWithUser: s.embyBody(e, true), embyNoUser: s.embyBody(e, false)}
}

// Events raised by writes; the caller holds s.mu.

// toggleEvent: MarkPlayed/MarkUnplayed save with SaveReason TogglePlayed, whether a person
// clicked or a client called the API, so our own writes come back (Jellyfin UserDataSaved
// TogglePlayed; Emby item.markplayed / item.markunplayed).
func (s *Server) toggleEvent(u int, r itemRec, d userData, played bool) []hookEvent {
	if !s.wantsHooks() {
		return nil
	}
	if s.cfg.Flavor == Jellyfin {
		return []hookEvent{{name: "UserDataSaved", user: u, jf: s.jfUserDataSaved(u, r, d, reasonTogglePlayed)}}
	}
	ev, verb := "item.markplayed", "played"
	if !played {
		ev, verb = "item.markunplayed", "unplayed"
	}
	return []hookEvent{s.embyHook(embyEvent{event: ev, user: u, item: &r, title: r.name + " has been marked " + verb + " for " + s.users[u].Name})}
}

// userDataEvent announces a save with the given reason. Emby has no webhook event for a
// plain user-data update (its events are playback, mark played/unplayed, rate, library,
// user and system ones [3p]), so only Jellyfin sends one.
func (s *Server) userDataEvent(u int, r itemRec, d userData, reason string) []hookEvent {
	if !s.wantsHooks() || s.cfg.Flavor != Jellyfin {
		return nil
	}
	return []hookEvent{{name: "UserDataSaved", user: u, jf: s.jfUserDataSaved(u, r, d, reason)}}
}

// itemAddedEvent: Jellyfin's ItemAdded (no user keys; the plugin queues it until the item has
// provider ids), Emby's library.new.
func (s *Server) itemAddedEvent(r itemRec) []hookEvent {
	if !s.wantsHooks() {
		return nil
	}
	if s.cfg.Flavor == Jellyfin {
		d := s.jfBase("ItemAdded")
		s.jfItem(d, r)
		return []hookEvent{{name: "ItemAdded", user: -1, jf: d}}
	}
	return []hookEvent{s.embyHook(embyEvent{event: "library.new", user: -1, item: &r, title: "New " + r.kind.typeName() + " added: " + r.name})}
}

// SendTestNotification is Emby's "Send test notification" button (system.notificationtest).
// Before 4.9.0.37 the test event carried no item or user [3p]; the fake sends the envelope.
// On Jellyfin it sends the plugin's "Generic" notification.
func (s *Server) SendTestNotification() {
	if !s.wantsHooks() {
		return
	}
	if s.cfg.Flavor == Jellyfin {
		s.hooks.send(hookEvent{name: "Generic", user: -1, jf: s.jfBase("Generic")})
		return
	}
	s.hooks.send(s.embyHook(embyEvent{event: "system.notificationtest", user: -1, title: "Test Notification"}))
}
