package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// envelope is every answer's shape: {"response":{"result","message","data"}}.
type envelope struct {
	Response struct {
		Result  string `json:"result"`
		Message any    `json:"message"` // null on success
		Data    any    `json:"data"`
	} `json:"response"`
}

// commands maps each command the fake serves to its handler. Tautulli
// knows about 150; the rest answer "Unknown command", which a client that
// strays will see.
func (s *Server) commands() map[string]func(r *http.Request) (any, error) {
	return map[string]func(r *http.Request) (any, error){
		"get_users":           func(*http.Request) (any, error) { return s.getUsers(), nil },
		"get_history":         s.getHistory,
		"get_server_info":     func(*http.Request) (any, error) { return s.serverInfo(), nil },
		"get_server_identity": func(*http.Request) (any, error) { return s.serverIdentity(), nil },
		"get_tautulli_info":   func(*http.Request) (any, error) { return tautulliInfo(), nil },
		"get_library_names":   func(*http.Request) (any, error) { return s.libraryNames(), nil },
		"get_activity":        func(*http.Request) (any, error) { return activity(), nil },
		"arnold":              func(*http.Request) (any, error) { return "Get to the chopper!", nil },
	}
}

// apiError is an answer with result "error".
type apiError struct {
	status  int
	message string
}

func (e *apiError) Error() string { return e.message }

// ServeHTTP answers /api/v2 (under any HTTP root) the way Tautulli's APIv2
// does, in the order its _api_validate checks: a missing apikey is 401, a
// missing or unknown cmd 400, then a wrong apikey 401 "Invalid apikey".
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/api/v2") {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeEnvelope(w, http.StatusBadRequest, "error", "Bad request: "+err.Error(), map[string]any{})
		return
	}
	cmds := s.commands()
	cmd := r.Form.Get("cmd")
	_, hasKey := r.Form["apikey"]
	switch {
	case !hasKey:
		writeEnvelope(w, http.StatusUnauthorized, "error", "Parameter apikey is required", map[string]any{})
		return
	case cmd == "":
		writeEnvelope(w, http.StatusBadRequest, "error", "Parameter cmd is required. Possible commands are: "+commandList(cmds), map[string]any{})
		return
	case cmds[cmd] == nil:
		writeEnvelope(w, http.StatusBadRequest, "error", fmt.Sprintf("Unknown command: %s. Possible commands are: %s", cmd, commandList(cmds)), map[string]any{})
		return
	case r.Form.Get("apikey") != s.opts.APIKey:
		writeEnvelope(w, http.StatusUnauthorized, "error", "Invalid apikey", map[string]any{})
		return
	}
	s.mu.Lock()
	s.calls[cmd]++
	status := s.takeFailure(cmd)
	s.mu.Unlock()
	if status != 0 {
		writeEnvelope(w, status, "error", "Check the logs for errors", map[string]any{})
		return
	}
	data, err := cmds[cmd](r)
	if err != nil {
		st := http.StatusInternalServerError
		if ae, ok := err.(*apiError); ok {
			st = ae.status
		}
		writeEnvelope(w, st, "error", err.Error(), map[string]any{})
		return
	}
	writeEnvelope(w, http.StatusOK, "success", nil, data)
}

func commandList(cmds map[string]func(*http.Request) (any, error)) string {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func writeEnvelope(w http.ResponseWriter, status int, result string, message, data any) {
	var env envelope
	env.Response.Result, env.Response.Message, env.Response.Data = result, message, data
	body, err := json.Marshal(env)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// userRow is a get_users row: null for what Tautulli has not learned from
// plex.tv (the Local pseudo-user is mostly nulls), shared_libraries as a
// JSON array of section ids as strings (current Tautulli; older versions sent
// "1;2").
type userRow struct {
	AllowGuest      int      `json:"allow_guest"`
	DoNotify        int      `json:"do_notify"`
	Email           *string  `json:"email"`
	FilterAll       *string  `json:"filter_all"`
	FilterMovies    *string  `json:"filter_movies"`
	FilterMusic     *string  `json:"filter_music"`
	FilterPhotos    *string  `json:"filter_photos"`
	FilterTV        *string  `json:"filter_tv"`
	FriendlyName    string   `json:"friendly_name"`
	IsActive        int      `json:"is_active"`
	IsAdmin         int      `json:"is_admin"`
	IsAllowSync     *int     `json:"is_allow_sync"`
	IsHomeUser      *int     `json:"is_home_user"`
	IsRestricted    *int     `json:"is_restricted"`
	KeepHistory     int      `json:"keep_history"`
	RowID           int      `json:"row_id"`
	SharedLibraries []string `json:"shared_libraries"`
	Thumb           *string  `json:"thumb"`
	UserID          int64    `json:"user_id"`
	Username        string   `json:"username"`
}

func (s *Server) getUsers() []userRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := make([]userRow, 0, len(s.users))
	for i, u := range s.users {
		row := userRow{DoNotify: 1, FriendlyName: u.FriendlyName, IsActive: 1, KeepHistory: 1, RowID: i + 1, UserID: u.ID, Username: u.Username}
		if u.ID != 0 {
			empty, zero, one := "", 0, 1
			email := u.Email
			thumb := fmt.Sprintf("https://plex.tv/users/%x/avatar", u.ID)
			row.Email, row.Thumb = &email, &thumb
			row.FilterAll, row.FilterMovies, row.FilterMusic, row.FilterPhotos, row.FilterTV = &empty, &empty, &empty, &empty, &empty
			row.IsAllowSync, row.IsHomeUser, row.IsRestricted = &one, &zero, &zero
			row.SharedLibraries = []string{"1", "2", "3"}
			if u.Admin {
				row.IsAdmin = 1
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func (s *Server) serverInfo() map[string]any {
	return map[string]any{
		"pms_identifier": s.opts.MachineID, "pms_ip": "10.10.10.1", "pms_is_remote": 0, "pms_name": s.opts.ServerName,
		"pms_platform": "Linux", "pms_plexpass": 0, "pms_port": 32400, "pms_ssl": 0,
		"pms_url": "http://10.10.10.1:32400", "pms_url_manual": 0, "pms_version": PlexVersion,
	}
}

func (s *Server) serverIdentity() []map[string]string {
	return []map[string]string{{"machine_identifier": s.opts.MachineID, "version": PlexVersion}}
}

// PlexVersion and TautulliVersion are the versions the fake reports.
const (
	PlexVersion     = "1.40.2.8395-c67dce28e"
	TautulliVersion = "v2.14.4"
)

func tautulliInfo() map[string]string {
	return map[string]string{
		"tautulli_install_type": "docker", "tautulli_version": TautulliVersion, "tautulli_branch": "master",
		"tautulli_commit": "2410eb33805aaac4bd1c5dad0f71e4f15afaf742", "tautulli_platform": "Linux",
		"tautulli_platform_release": "6.1.0", "tautulli_platform_version": "#1 SMP", "tautulli_platform_linux_distro": "",
		"tautulli_platform_device_name": "fake", "tautulli_python_version": "3.11.2",
	}
}

func (s *Server) libraryNames() []map[string]any {
	out := make([]map[string]any, 0, len(s.sections))
	for _, sec := range s.sections {
		out = append(out, map[string]any{"section_id": sec.ID, "section_name": sec.Name, "section_type": sec.Type})
	}
	return out
}

// activity is get_activity with nothing playing: stream_count is a string.
func activity() map[string]any {
	return map[string]any{
		"lan_bandwidth": 0, "sessions": []any{}, "stream_count": "0", "stream_count_direct_play": 0,
		"stream_count_direct_stream": 0, "stream_count_transcode": 0, "total_bandwidth": 0, "wan_bandwidth": 0,
	}
}

// historyQuery is get_history's parameters.
type historyQuery struct {
	userIDs, ratingKeys, parentKeys, grandKeys []int64
	sections                                   []int
	mediaTypes                                 []string
	user, guid, search                         string
	startDate, before, after                   string
	orderColumn                                string
	desc                                       bool
	start, length                              int
}

func badParam(name, value string) error {
	// Tautulli casts with int() and fails the call ("Check the logs").
	return &apiError{status: http.StatusInternalServerError, message: fmt.Sprintf("Check the logs for errors (%s=%q)", name, value)}
}

func intList(r *http.Request, name string) ([]int64, error) {
	v := strings.TrimSpace(r.Form.Get(name))
	if v == "" {
		return nil, nil
	}
	var out []int64
	for _, part := range strings.Split(v, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
		if err != nil {
			return nil, badParam(name, v)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseHistoryQuery(r *http.Request) (historyQuery, error) {
	q := historyQuery{orderColumn: "date", desc: true, length: 25}
	var err error
	lists := map[string]*[]int64{"user_id": &q.userIDs, "rating_key": &q.ratingKeys, "parent_rating_key": &q.parentKeys, "grandparent_rating_key": &q.grandKeys}
	for name, dst := range lists {
		if *dst, err = intList(r, name); err != nil {
			return q, err
		}
	}
	secs, err := intList(r, "section_id")
	if err != nil {
		return q, err
	}
	for _, s := range secs {
		q.sections = append(q.sections, int(s))
	}
	if v := r.Form.Get("media_type"); v != "" && v != "all" {
		q.mediaTypes = strings.Split(v, ",")
	}
	q.user, q.search = r.Form.Get("user"), r.Form.Get("search")
	q.guid, _, _ = strings.Cut(r.Form.Get("guid"), "?")
	for name, dst := range map[string]*string{"start_date": &q.startDate, "before": &q.before, "after": &q.after} {
		v := r.Form.Get(name)
		if v == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return q, badParam(name, v)
		}
		*dst = v
	}
	if v := r.Form.Get("order_column"); v != "" {
		q.orderColumn = v
	}
	if v := r.Form.Get("order_dir"); v != "" {
		q.desc = v != "asc"
	}
	for name, dst := range map[string]*int{"start": &q.start, "length": &q.length} {
		if v := r.Form.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return q, badParam(name, v)
			}
			*dst = n
		}
	}
	return q, nil
}

// matches applies the filters. Dates compare the row's date (its last
// session's start) as a local date of the server's zone, as Tautulli does
// with SQLite's "localtime".
func (s *Server) matches(q historyQuery, p Play, it Item, user User) bool {
	in := func(list []int64, v int64) bool { return len(list) == 0 || slices.Contains(list, v) }
	if !in(q.userIDs, p.UserID) || !in(q.ratingKeys, p.RatingKey) || !in(q.parentKeys, it.SeasonRatingKey) || !in(q.grandKeys, it.ShowRatingKey) {
		return false
	}
	if len(q.sections) > 0 && !slices.Contains(q.sections, it.SectionID) {
		return false
	}
	if len(q.mediaTypes) > 0 && !slices.Contains(q.mediaTypes, it.Type) {
		return false
	}
	if q.user != "" && q.user != user.Username {
		return false
	}
	if q.guid != "" && !strings.HasPrefix(it.GUID, q.guid) {
		return false
	}
	if q.search != "" && !strings.Contains(strings.ToLower(fullTitle(it)), strings.ToLower(q.search)) {
		return false
	}
	day := p.Date.In(s.opts.Location).Format(time.DateOnly)
	switch {
	case q.startDate != "" && day != q.startDate:
		return false
	case q.before != "" && day > q.before:
		return false
	case q.after != "" && day < q.after:
		return false
	}
	return true
}

func fullTitle(it Item) string {
	if it.Type == "episode" {
		return it.ShowTitle + " - " + it.Title
	}
	return it.Title
}

// sortKey orders rows by the order_column; ties go by row id so paging is
// stable. Unknown columns order by date, as Tautulli's datatables fall back.
func (s *Server) sortKey(col string, p Play) string {
	num := func(n int64) string { return fmt.Sprintf("%020d", n) }
	switch col {
	case "started":
		return num(p.Started.Unix())
	case "stopped":
		return num(p.Stopped.Unix())
	case "duration":
		return num(int64(p.Stopped.Sub(p.Started).Seconds()) - p.PausedCounter)
	case "paused_counter":
		return num(p.PausedCounter)
	case "player":
		return p.Player
	case "platform":
		return p.Platform
	case "full_title":
		return fullTitle(s.items[s.byKey[p.RatingKey]])
	}
	return num(p.Date.Unix())
}

// historyRow is a get_history row with Tautulli's types: integers where the
// column has a value, "" (a string) where a movie has no parent or index
// and an episode no year, null for state and session_key.
type historyRow struct {
	ReferenceID          int64   `json:"reference_id"`
	RowID                int64   `json:"row_id"`
	ID                   int64   `json:"id"`
	Date                 int64   `json:"date"`
	Started              int64   `json:"started"`
	Stopped              int64   `json:"stopped"`
	Duration             int64   `json:"duration"`
	PausedCounter        int64   `json:"paused_counter"`
	UserID               int64   `json:"user_id"`
	User                 string  `json:"user"`
	FriendlyName         string  `json:"friendly_name"`
	UserThumb            string  `json:"user_thumb"`
	Platform             string  `json:"platform"`
	Product              string  `json:"product"`
	Player               string  `json:"player"`
	IPAddress            string  `json:"ip_address"`
	Live                 int     `json:"live"`
	MachineID            string  `json:"machine_id"`
	Location             string  `json:"location"`
	Secure               int     `json:"secure"`
	Relayed              int     `json:"relayed"`
	MediaType            string  `json:"media_type"`
	RatingKey            int64   `json:"rating_key"`
	ParentRatingKey      any     `json:"parent_rating_key"`
	GrandparentRatingKey any     `json:"grandparent_rating_key"`
	FullTitle            string  `json:"full_title"`
	Title                string  `json:"title"`
	ParentTitle          string  `json:"parent_title"`
	GrandparentTitle     string  `json:"grandparent_title"`
	OriginalTitle        string  `json:"original_title"`
	Year                 any     `json:"year"`
	MediaIndex           any     `json:"media_index"`
	ParentMediaIndex     any     `json:"parent_media_index"`
	Thumb                string  `json:"thumb"`
	OriginallyAvailable  string  `json:"originally_available_at"`
	GUID                 string  `json:"guid"`
	TranscodeDecision    string  `json:"transcode_decision"`
	PercentComplete      int     `json:"percent_complete"`
	WatchedStatus        any     `json:"watched_status,omitempty"` // float64; nil (left out) with Options.OmitWatchedStatus
	GroupCount           int     `json:"group_count"`
	GroupIDs             string  `json:"group_ids"`
	State                *string `json:"state"`
	SessionKey           *string `json:"session_key"`
}

func (s *Server) row(p Play, it Item, u User) historyRow {
	ids := make([]string, len(p.GroupIDs))
	for i, id := range p.GroupIDs {
		ids[i] = strconv.FormatInt(id, 10)
	}
	r := historyRow{
		ReferenceID: p.ReferenceID, RowID: p.RowID, ID: p.RowID,
		Date: p.Date.Unix(), Started: p.Started.Unix(), Stopped: p.Stopped.Unix(),
		Duration: int64(it.Duration.Seconds()) * int64(p.PercentComplete) / 100, PausedCounter: p.PausedCounter,
		UserID: u.ID, User: u.Username, FriendlyName: u.FriendlyName, UserThumb: fmt.Sprintf("https://plex.tv/users/%x/avatar", u.ID),
		Platform: p.Platform, Product: "Plex for " + p.Platform, Player: p.Player, IPAddress: "192.168.2.63",
		MachineID: hexFrom(uint64(len(p.Player)), p.Player, 16), Location: "lan", Secure: 1,
		MediaType: it.Type, RatingKey: it.RatingKey, ParentRatingKey: "", GrandparentRatingKey: "",
		FullTitle: fullTitle(it), Title: it.Title, Year: it.Year, MediaIndex: "", ParentMediaIndex: "",
		Thumb: fmt.Sprintf("/library/metadata/%d/thumb/%d", it.RatingKey, it.AddedAt.Unix()), OriginallyAvailable: it.AirDate,
		GUID: it.GUID, TranscodeDecision: "direct play", PercentComplete: p.PercentComplete,
		GroupCount: len(p.GroupIDs), GroupIDs: strings.Join(ids, ","),
	}
	if !s.opts.OmitWatchedStatus {
		r.WatchedStatus = s.WatchedStatus(p)
	}
	if it.Type == "episode" {
		r.ParentRatingKey, r.GrandparentRatingKey = it.SeasonRatingKey, it.ShowRatingKey
		r.ParentTitle, r.GrandparentTitle = fmt.Sprintf("Season %d", it.Season), it.ShowTitle
		r.Year, r.MediaIndex, r.ParentMediaIndex = "", it.Episode, it.Season
		r.Thumb = fmt.Sprintf("/library/metadata/%d/thumb/%d", it.SeasonRatingKey, it.AddedAt.Unix())
	} else {
		r.OriginallyAvailable = fmt.Sprintf("%d-06-15", it.Year)
	}
	return r
}

func (s *Server) getHistory(r *http.Request) (any, error) {
	q, err := parseHistoryQuery(r)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	users := map[int64]User{}
	for _, u := range s.users {
		users[u.ID] = u
	}
	var hits []Play
	var filtered, total time.Duration
	for _, p := range s.plays {
		it := s.items[s.byKey[p.RatingKey]]
		played := it.Duration * time.Duration(p.PercentComplete) / 100
		total += played
		if s.matches(q, p, it, users[p.UserID]) {
			hits = append(hits, p)
			filtered += played
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		ki, kj := s.sortKey(q.orderColumn, hits[i]), s.sortKey(q.orderColumn, hits[j])
		if ki == kj {
			ki, kj = fmt.Sprintf("%020d", hits[i].RowID), fmt.Sprintf("%020d", hits[j].RowID)
		}
		if q.desc {
			return ki > kj
		}
		return ki < kj
	})
	page := hits[min(q.start, len(hits)):min(q.start+q.length, len(hits))]
	rows := make([]historyRow, 0, len(page))
	for _, p := range page {
		rows = append(rows, s.row(p, s.items[s.byKey[p.RatingKey]], users[p.UserID]))
	}
	return map[string]any{
		"recordsFiltered": len(hits), "recordsTotal": len(s.plays), "draw": 1,
		"filter_duration": humanDuration(filtered), "total_duration": humanDuration(total), "data": rows,
	}, nil
}

// humanDuration writes durations as Tautulli does: "3 hrs 56 mins 30 secs".
func humanDuration(d time.Duration) string {
	secs := int64(d.Seconds())
	parts := []string{}
	for _, u := range []struct {
		n    int64
		name string
	}{{86400, "day"}, {3600, "hr"}, {60, "min"}, {1, "sec"}} {
		if v := secs / u.n; v > 0 {
			name := u.name
			if v > 1 {
				name += "s"
			}
			parts = append(parts, fmt.Sprintf("%d %s", v, name))
			secs -= v * u.n
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, " ")
}
