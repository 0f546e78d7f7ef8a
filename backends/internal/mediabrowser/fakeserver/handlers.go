package fakeserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// buildRoutes lists the endpoints the fake serves for its flavor and version. Order matters
// only where a literal segment competes with a parameter (/Users/Me before /Users/{userId}).
func (s *Server) buildRoutes() []*route {
	var rs []*route
	add := func(method, tmpl string, auth bool, h func(*reqCtx)) {
		rs = append(rs, newRoute(method, tmpl, auth, h))
	}
	if s.cfg.Flavor == Jellyfin {
		modern := s.ver.atLeast(jellyfin109)
		add("GET", "/System/Info/Public", false, (*reqCtx).systemInfoPublic)
		add("GET", "/System/Info", true, (*reqCtx).systemInfo)
		add("GET", "/Users", true, (*reqCtx).listUsers)
		add("GET", "/Users/Me", true, (*reqCtx).me)
		add("POST", "/Users/AuthenticateByName", false, (*reqCtx).authenticateByName)
		add("GET", "/Users/{userId}", true, (*reqCtx).getUser)
		if modern {
			add("GET", "/UserViews", true, (*reqCtx).views)
		}
		add("GET", "/Users/{userId}/Views", true, (*reqCtx).views)
		add("GET", "/Items", true, (*reqCtx).listItems)
		add("GET", "/Users/{userId}/Items", true, (*reqCtx).listItems)
		if modern {
			add("GET", "/Items/{itemId}", true, (*reqCtx).getItem)
		}
		add("GET", "/Users/{userId}/Items/{itemId}", true, (*reqCtx).getItem)
		if modern {
			add("POST", "/UserPlayedItems/{itemId}", true, (*reqCtx).markPlayed)
			add("DELETE", "/UserPlayedItems/{itemId}", true, (*reqCtx).markUnplayed)
		}
		add("POST", "/Users/{userId}/PlayedItems/{itemId}", true, (*reqCtx).markPlayed)
		add("DELETE", "/Users/{userId}/PlayedItems/{itemId}", true, (*reqCtx).markUnplayed)
		// The user-data endpoints arrived with 10.9 in both spellings (WatchState: "v10.9.x
		// or higher is required for watch progress sync").
		if modern {
			add("GET", "/UserItems/{itemId}/UserData", true, (*reqCtx).getUserDataRoute)
			add("POST", "/UserItems/{itemId}/UserData", true, (*reqCtx).postUserData)
			add("GET", "/Users/{userId}/Items/{itemId}/UserData", true, (*reqCtx).getUserDataRoute)
			add("POST", "/Users/{userId}/Items/{itemId}/UserData", true, (*reqCtx).postUserData)
		}
	} else {
		add("GET", "/System/Info/Public", false, (*reqCtx).systemInfoPublic)
		add("GET", "/System/Info", true, (*reqCtx).systemInfo)
		// GET /Users is not in the 4.8.11 spec but the server answers it (WatchState calls
		// /Users/ on Emby); /Users/Query is the documented form.
		add("GET", "/Users", true, (*reqCtx).listUsers)
		add("GET", "/Users/Query", true, (*reqCtx).queryUsers)
		add("GET", "/Users/Public", false, (*reqCtx).publicUsers)
		add("POST", "/Users/AuthenticateByName", false, (*reqCtx).authenticateByName)
		add("GET", "/Users/{Id}", true, (*reqCtx).getUser)
		add("GET", "/Users/{UserId}/Views", true, (*reqCtx).views)
		add("GET", "/Items", true, (*reqCtx).listItems)
		add("GET", "/Users/{UserId}/Items", true, (*reqCtx).listItems)
		add("GET", "/Users/{UserId}/Items/{Id}", true, (*reqCtx).getItem)
		add("POST", "/Users/{UserId}/PlayedItems/{Id}", true, (*reqCtx).markPlayed)
		add("DELETE", "/Users/{UserId}/PlayedItems/{Id}", true, (*reqCtx).markUnplayed)
		add("POST", "/Users/{UserId}/PlayedItems/{Id}/Delete", true, (*reqCtx).markUnplayed)
		add("POST", "/Users/{UserId}/Items/{ItemId}/UserData", true, (*reqCtx).postUserData)
	}
	add("GET", "/Sessions", true, (*reqCtx).listSessions)
	add("POST", "/Sessions/Playing", true, (*reqCtx).reportStart)
	add("POST", "/Sessions/Playing/Progress", true, (*reqCtx).reportProgress)
	add("POST", "/Sessions/Playing/Stopped", true, (*reqCtx).reportStopped)
	return rs
}

// actingUser resolves the user a request is for, as RequestHelpers.GetUserId +
// IUserManager.GetUserById do: no explicit id means the token's user (an API key has none);
// another user's id needs administrator rights.
func (c *reqCtx) actingUser(explicit string, required bool) (int, bool) {
	s := c.s
	if explicit == "" {
		if c.auth.user < 0 && required {
			c.fail(http.StatusNotFound, "user not found: an API key acts for no user, pass userId")
			return -1, false
		}
		return c.auth.user, true
	}
	if s.cfg.Flavor == Jellyfin {
		if _, ok := normalizeGUID(explicit); !ok {
			c.fail(http.StatusBadRequest, "userId "+strconv.Quote(explicit)+" is not a Guid")
			return -1, false
		}
	}
	u := s.userIndex(explicit)
	if u != c.auth.user && !c.auth.admin(s) {
		c.fail(http.StatusForbidden, "user is not allowed to access another user's data")
		return -1, false
	}
	if u < 0 {
		c.fail(http.StatusNotFound, "user "+strconv.Quote(explicit)+" not found")
		return -1, false
	}
	return u, true
}

// userParam is the user id from the route, else from the query (10.9+ spelling).
func (c *reqCtx) userParam() string {
	if v, ok := c.params["userid"]; ok {
		return v
	}
	return c.q.get("UserId")
}

func (c *reqCtx) itemParam() string {
	if v, ok := c.params["itemid"]; ok {
		return v
	}
	return c.params["id"]
}

// resolveItem finds the route's item for user u; it answers the error itself.
func (c *reqCtx) resolveItem() (itemRec, bool) {
	id := c.itemParam()
	idx, ok, wellFormed := c.s.parseItemID(id)
	if !wellFormed && c.s.cfg.Flavor == Jellyfin {
		c.fail(http.StatusBadRequest, "itemId "+strconv.Quote(id)+" is not a Guid")
		return itemRec{}, false
	}
	if !ok {
		c.fail(http.StatusNotFound, "Item not found.")
		return itemRec{}, false
	}
	r, _ := c.s.item(idx)
	return r, true
}

// System and users.

func (c *reqCtx) systemInfoPublic() {
	w := c.s.newJW()
	c.s.writePublicSystemInfo(w, c, false)
	c.json(http.StatusOK, w.b)
}

func (c *reqCtx) systemInfo() {
	w := c.s.newJW()
	c.s.writePublicSystemInfo(w, c, true)
	c.json(http.StatusOK, w.b)
}

func (c *reqCtx) listUsers() {
	if !c.auth.admin(c.s) {
		c.fail(http.StatusForbidden, "administrator rights are required to list users")
		return
	}
	w := c.s.newJW()
	w.arr()
	for i := range c.s.users {
		c.s.writeUser(w, i)
	}
	w.endArr()
	c.json(http.StatusOK, w.b)
}

func (c *reqCtx) queryUsers() {
	if !c.auth.admin(c.s) {
		c.fail(http.StatusForbidden, "administrator rights are required to list users")
		return
	}
	b := c.s.writeQueryResult(func(w *jw) {
		for i := range c.s.users {
			c.s.writeUser(w, i)
		}
	}, len(c.s.users), 0, 0)
	c.json(http.StatusOK, b)
}

func (c *reqCtx) publicUsers() {
	w := c.s.newJW()
	w.arr()
	w.endArr() // every user is hidden from the login screen
	c.json(http.StatusOK, w.b)
}

func (c *reqCtx) me() {
	if c.auth.user < 0 {
		c.fail(http.StatusBadRequest, "the token belongs to no user")
		return
	}
	w := c.s.newJW()
	c.s.writeUser(w, c.auth.user)
	c.json(http.StatusOK, w.b)
}

func (c *reqCtx) getUser() {
	id := c.params["userid"]
	if id == "" {
		id = c.params["id"]
	}
	u, ok := c.actingUser(id, true)
	if !ok {
		return
	}
	w := c.s.newJW()
	c.s.writeUser(w, u)
	c.json(http.StatusOK, w.b)
}

// authenticateByName creates a session, so the server needs the client's identity from the
// authorization header (Client, Device, DeviceId, Version); without it Jellyfin answers 400
// ("request.App" missing, measured on 12.1 by a third-party client) and Emby's document marks
// X-Emby-Authorization required on this route.
func (c *reqCtx) authenticateByName() {
	if c.auth.client == "" || c.auth.device == "" || c.auth.deviceID == "" || c.auth.version == "" {
		c.fail(http.StatusBadRequest, "the authorization header must name Client, Device, DeviceId and Version")
		return
	}
	var req struct {
		Username string
		Pw       string
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(http.StatusBadRequest, "body must be JSON {\"Username\":...,\"Pw\":...}")
		return
	}
	u := c.s.userByName(req.Username)
	if u < 0 || c.s.users[u].Password != req.Pw {
		c.fail(http.StatusUnauthorized, "Invalid username or password entered.")
		return
	}
	w := c.s.newJW()
	w.obj()
	w.key("User")
	c.s.writeUser(w, u)
	w.kobj("SessionInfo")
	w.kstr("UserId", c.s.users[u].ID)
	w.kstr("UserName", c.s.users[u].Name)
	w.endObj()
	w.kstr("AccessToken", c.s.users[u].Token)
	w.kstr("ServerId", c.s.serverID)
	w.endObj()
	c.json(http.StatusOK, w.b)
}

// Libraries and items.

func (c *reqCtx) views() {
	u, ok := c.actingUser(c.userParam(), true)
	if !ok {
		return
	}
	s := c.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	b := s.writeQueryResult(func(w *jw) {
		for v := int32(0); v < viewCount; v++ {
			r, _ := s.item(v)
			s.writeItem(w, r, dtoOpts{user: u, fields: map[string]bool{}, userData: true, inList: true})
		}
	}, viewCount, 0, viewCount)
	c.items = viewCount
	c.json(http.StatusOK, b)
}

func (c *reqCtx) listItems() {
	explicit := c.userParam()
	u, ok := c.actingUser(explicit, false)
	if !ok {
		return
	}
	if explicit == "" && c.s.cfg.Flavor == Emby {
		// Emby's ItemsService reads the user only from UserId; without it the query runs
		// for no user, whatever the token [src open-source Emby ItemsService.GetItems].
		u = -1
	}
	s := c.s
	iq, err := c.parseItemQuery(u)
	if err != nil {
		if errors.Is(err, errSQLParam) {
			c.fail(http.StatusInternalServerError, err.Error())
			return
		}
		c.fail(http.StatusBadRequest, err.Error())
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	page, total := s.run(iq)
	opts := dtoOpts{user: u, fields: iq.fields, userData: iq.enableUserData, inList: true}
	b := s.writeQueryResult(func(w *jw) {
		for _, idx := range page {
			r, _ := s.item(idx)
			s.writeItem(w, r, opts)
		}
	}, total, iq.start, len(page))
	c.items = len(page)
	c.json(http.StatusOK, b)
}

func (c *reqCtx) getItem() {
	u, ok := c.actingUser(c.userParam(), false)
	if !ok {
		return
	}
	s := c.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := c.resolveItem()
	if !ok {
		return
	}
	w := s.newJW()
	s.writeItem(w, r, dtoOpts{user: u, userData: true})
	c.items = 1
	c.json(http.StatusOK, w.b)
}

// Writes.

// parseDatePlayed binds datePlayed. Jellyfin's LegacyDateTimeModelBinder tries
// yyyyMMddHHmmss (UTC) first, then any ISO-8601 date; anything else fails model binding (400).
// Emby calls DateTime.ParseExact(DatePlayed, "yyyyMMddHHmmss") [src, open-source Emby], so an
// ISO date throws FormatException, which ServiceStack answers with 500.
func (c *reqCtx) parseDatePlayed() (*time.Time, bool) {
	v := c.q.get("DatePlayed")
	if v == "" {
		return nil, true
	}
	if t, err := time.ParseInLocation("20060102150405", v, time.UTC); err == nil {
		return &t, true
	}
	if c.s.cfg.Flavor == Emby {
		c.fail(http.StatusInternalServerError, "String '"+v+"' was not recognized as a valid DateTime.")
		return nil, false
	}
	if t, ok := parseISODate(v); ok {
		return &t, true
	}
	c.fail(http.StatusBadRequest, "datePlayed "+strconv.Quote(v)+" is neither yyyyMMddHHmmss nor ISO-8601")
	return nil, false
}

func (c *reqCtx) markPlayed()   { c.togglePlayed(true) }
func (c *reqCtx) markUnplayed() { c.togglePlayed(false) }

// togglePlayed is MarkPlayedItem / MarkUnplayedItem: the same route shape,
// a datePlayed only when marking played, a TogglePlayed event either way.
func (c *reqCtx) togglePlayed(played bool) {
	u, ok := c.actingUser(c.userParam(), true)
	if !ok {
		return
	}
	var date *time.Time
	if played {
		if date, ok = c.parseDatePlayed(); !ok {
			return
		}
	}
	s := c.s
	s.mu.Lock()
	r, ok := c.resolveItem()
	if !ok {
		s.mu.Unlock()
		return
	}
	var d userData
	if played {
		d = s.markPlayed(u, r.idx, date)
	} else {
		d = s.markUnplayed(u, r.idx)
	}
	b := s.userDataBody(r, u, d)
	ev := s.toggleEvent(u, r, d, played)
	s.mu.Unlock()
	s.hooks.send(ev...)
	c.json(http.StatusOK, b)
}

func (s *Server) userDataBody(r itemRec, u int, d userData) []byte {
	w := s.newJW()
	s.writeUserData(w, r, u, d, udOpts{endpoint: true})
	return w.b
}

func (c *reqCtx) getUserDataRoute() {
	u, ok := c.actingUser(c.userParam(), true)
	if !ok {
		return
	}
	s := c.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := c.resolveItem()
	if !ok {
		return
	}
	c.json(http.StatusOK, s.userDataBody(r, u, s.getUserData(u, r.idx)))
}

// postUserData is UpdateItemUserData: fields present in the body are copied, no resume rules
// run, and the save is announced with SaveReason UpdateUserData. Numbers may arrive as
// strings (Jellyfin's JsonDefaults use AllowReadingFromString; WatchState sends
// "PlaybackPositionTicks":"<ticks>").
func (c *reqCtx) postUserData() {
	u, ok := c.actingUser(c.userParam(), true)
	if !ok {
		return
	}
	up, err := parseUserDataUpdate(c.body)
	if err != nil {
		c.fail(http.StatusBadRequest, err.Error())
		return
	}
	s := c.s
	s.mu.Lock()
	r, ok := c.resolveItem()
	if !ok {
		s.mu.Unlock()
		return
	}
	d := s.updateUserData(u, r.idx, up)
	b := s.userDataBody(r, u, d)
	ev := s.userDataEvent(u, r, d, reasonUpdateUserData)
	s.mu.Unlock()
	s.hooks.send(ev...)
	if s.cfg.Flavor == Emby {
		// The Emby spec declares "200 Operation successful. Empty response."
		c.writeStatus(http.StatusOK)
		return
	}
	c.json(http.StatusOK, b)
}

func parseUserDataUpdate(body []byte) (userDataUpdate, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil {
		return userDataUpdate{}, errors.New("body must be a JSON object (UpdateUserItemDataDto): " + err.Error())
	}
	var up userDataUpdate
	for k, v := range raw {
		if string(v) == "null" {
			continue
		}
		switch strings.ToLower(k) {
		case "playbackpositionticks":
			n, err := flexInt(v)
			if err != nil {
				return up, errors.New("PlaybackPositionTicks: " + err.Error())
			}
			up.position = &n
		case "playcount":
			n, err := flexInt(v)
			if err != nil {
				return up, errors.New("PlayCount: " + err.Error())
			}
			i := int(n)
			up.playCount = &i
		case "isfavorite", "played":
			var b bool
			if err := json.Unmarshal(v, &b); err != nil {
				return up, errors.New(k + ": want true or false")
			}
			if strings.EqualFold(k, "played") {
				up.played = &b
			} else {
				up.favorite = &b
			}
		case "lastplayeddate":
			var str string
			if err := json.Unmarshal(v, &str); err != nil {
				return up, errors.New("LastPlayedDate: want an ISO-8601 string")
			}
			t, ok := parseISODate(str)
			if !ok {
				return up, errors.New("LastPlayedDate: " + strconv.Quote(str) + " is not an ISO-8601 date")
			}
			up.lastPlay = &t
		}
	}
	return up, nil
}

// flexInt reads a JSON number or a numeric string.
func flexInt(v json.RawMessage) (int64, error) {
	var n int64
	if err := json.Unmarshal(v, &n); err == nil {
		return n, nil
	}
	var str string
	if err := json.Unmarshal(v, &str); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(str), 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, errors.New("want an integer or a numeric string, got " + string(v))
}
