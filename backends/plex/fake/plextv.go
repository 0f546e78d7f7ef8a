package fake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The plex.tv side. v2 endpoints answer JSON when asked (Accept: application/json);
// their XML form is not modelled, so without that header they answer 406 and say
// so. The v1 endpoints (/api/users, /api/servers/…/shared_servers) answer XML.

func requireJSON(w http.ResponseWriter, rc *reqCtx) bool {
	if rc.format == formatJSON {
		return true
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotAcceptable)
	_, _ = w.Write([]byte("plex fake: plex.tv v2 answers XML unless asked for JSON, and the fake models only JSON: send Accept: application/json\n"))
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "plex fake: encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type tvSubscription struct {
	Active   bool     `json:"active"`
	Status   string   `json:"status"`
	Plan     string   `json:"plan"`
	Features []string `json:"features"`
}

// tvAccount is plex.tv's account document (/api/v2/user, and the switch answer).
type tvAccount struct {
	ID                int            `json:"id"`
	UUID              string         `json:"uuid"`
	Username          *string        `json:"username"`
	Title             string         `json:"title"`
	Email             *string        `json:"email"`
	FriendlyName      string         `json:"friendlyName"`
	Locale            *string        `json:"locale"`
	Confirmed         bool           `json:"confirmed"`
	JoinedAt          int64          `json:"joinedAt"`
	EmailOnlyAuth     bool           `json:"emailOnlyAuth"`
	HasPassword       bool           `json:"hasPassword"`
	Protected         bool           `json:"protected"`
	Thumb             string         `json:"thumb"`
	AuthToken         string         `json:"authToken"`
	MailingListActive bool           `json:"mailingListActive"`
	ScrobbleTypes     string         `json:"scrobbleTypes"`
	Country           string         `json:"country"`
	Subscription      tvSubscription `json:"subscription"`
	Restricted        bool           `json:"restricted"`
	Anonymous         *bool          `json:"anonymous"`
	Home              bool           `json:"home"`
	Guest             bool           `json:"guest"`
	HomeSize          int            `json:"homeSize"`
	HomeAdmin         bool           `json:"homeAdmin"`
	MaxHomeSize       int            `json:"maxHomeSize"`
	TwoFactorEnabled  bool           `json:"twoFactorEnabled"`
	Roles             []string       `json:"roles"`
	Entitlements      []string       `json:"entitlements"`
}

func (s *Server) inHome(a *account) bool { return a.Kind != SharedUser }

func (s *Server) homeSize() int {
	n := 0
	for _, a := range s.accounts {
		if s.inHome(a) {
			n++
		}
	}
	return n
}

func (s *Server) tvAccountOf(a *account) tvAccount {
	sub := tvSubscription{Active: false, Status: "Inactive", Plan: "free", Features: []string{}}
	if a.Kind == Owner {
		sub = tvSubscription{Active: true, Status: "Active", Plan: "lifetime", Features: []string{"webhooks", "sync"}}
	}
	friendly := a.Title
	if a.Kind == ManagedUser {
		friendly = ""
	}
	homeSize := 1
	if s.inHome(a) {
		homeSize = s.homeSize()
	}
	return tvAccount{
		ID: a.ID, UUID: a.UUID, Username: strOrNil(a.Username), Title: a.Title, Email: strOrNil(a.Email),
		FriendlyName: friendly, Confirmed: a.Kind != ManagedUser, JoinedAt: 1_400_000_000 + int64(a.ID%100_000_000),
		HasPassword: a.Kind != ManagedUser, Protected: a.PIN != "", Thumb: avatarURL(a), AuthToken: a.PlexTVToken,
		Country: "US", Subscription: sub, Restricted: a.Restricted, Home: s.inHome(a),
		HomeSize: homeSize, HomeAdmin: a.Kind == Owner, MaxHomeSize: 15,
		Roles: []string{}, Entitlements: []string{},
	}
}

// handlePlexTVUser is GET /api/v2/user: the token's own account.
func (s *Server) handlePlexTVUser(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !requireJSON(w, rc) {
		return
	}
	s.mu.RLock()
	acc := s.tvAccountOf(rc.user)
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, acc)
}

type tvHomeUser struct {
	ID                 int     `json:"id"`
	UUID               string  `json:"uuid"`
	Title              string  `json:"title"`
	Username           *string `json:"username"`
	Email              *string `json:"email"`
	FriendlyName       *string `json:"friendlyName"`
	Thumb              string  `json:"thumb"`
	HasPassword        bool    `json:"hasPassword"`
	Restricted         bool    `json:"restricted"`
	UpdatedAt          *int64  `json:"updatedAt"`
	RestrictionProfile *string `json:"restrictionProfile"`
	Admin              bool    `json:"admin"`
	Guest              bool    `json:"guest"`
	Protected          bool    `json:"protected"`
	Home               bool    `json:"home"`
}

type tvHome struct {
	ID            int          `json:"id"`
	Name          string       `json:"name"`
	GuestUserID   *int         `json:"guestUserID"`
	GuestUserUUID *string      `json:"guestUserUUID"`
	GuestEnabled  bool         `json:"guestEnabled"`
	Subscription  bool         `json:"subscription"`
	Users         []tvHomeUser `json:"users"`
}

// handleHomeUsers is GET /api/v2/home/users: the Plex Home of the token's account.
// A shared user is not in the owner's Home; it sees a Home of its own.
func (s *Server) handleHomeUsers(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !requireJSON(w, rc) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	owner := s.owner()
	home := tvHome{ID: owner.ID%1_000_000 + 1, Name: owner.Title + "'s home", Subscription: true}
	members := []*account{rc.user}
	if s.inHome(rc.user) {
		members = nil
		for _, a := range s.accounts {
			if s.inHome(a) {
				members = append(members, a)
			}
		}
	} else {
		home.ID = rc.user.ID%1_000_000 + 1
		home.Name = rc.user.Title + "'s home"
	}
	for _, a := range members {
		hu := tvHomeUser{
			ID: a.ID, UUID: a.UUID, Title: a.Title, Username: strOrNil(a.Username), Email: strOrNil(a.Email),
			Thumb: avatarURL(a), HasPassword: a.Kind != ManagedUser, Restricted: a.Restricted,
			Admin: a.Kind == Owner || !s.inHome(rc.user), Protected: a.PIN != "", Home: true,
		}
		if a.Kind != ManagedUser {
			hu.FriendlyName = &a.Title
		}
		if a.Restricted {
			p := "little_kid"
			hu.RestrictionProfile = &p
		}
		ts := int64(1_700_000_000 + a.ID%1_000_000)
		hu.UpdatedAt = &ts
		home.Users = append(home.Users, hu)
	}
	writeJSON(w, http.StatusOK, home)
}

// handleSwitch is POST /api/v2/home/users/{id}/switch: a Home member gets another
// member's plex.tv token (201). {id} is the uuid or the numeric id. A protected
// member needs ?pin= (or a pin form field); without the right one plex.tv answers 403
// with code 1041, the admin included.
func (s *Server) handleSwitch(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !requireJSON(w, rc) {
		return
	}
	id := r.PathValue("id")
	pin := r.URL.Query().Get("pin")
	if pin == "" {
		pin = r.PostFormValue("pin")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.inHome(rc.user) {
		writePlexTVError(w, rc.format, http.StatusForbidden, 1029, "You are not a member of this home")
		return
	}
	var target *account
	for _, a := range s.accounts {
		if s.inHome(a) && (a.UUID == id || strconv.Itoa(a.ID) == id) {
			target = a
		}
	}
	if target == nil {
		writePlexTVError(w, rc.format, http.StatusNotFound, 1002, "User could not be found")
		return
	}
	if target.PIN != "" && pin != target.PIN {
		writePlexTVError(w, rc.format, http.StatusForbidden, 1041, "A valid PIN is required to perform this action")
		return
	}
	writeJSON(w, http.StatusCreated, s.tvAccountOf(target))
}

type tvConnection struct {
	Protocol string `json:"protocol"`
	Address  string `json:"address"`
	Port     int    `json:"port"`
	URI      string `json:"uri"`
	Local    bool   `json:"local"`
	Relay    bool   `json:"relay"`
	IPv6     bool   `json:"IPv6"`
}

type tvResource struct {
	Name                   string         `json:"name"`
	Product                string         `json:"product"`
	ProductVersion         string         `json:"productVersion"`
	Platform               *string        `json:"platform"`
	PlatformVersion        *string        `json:"platformVersion"`
	Device                 *string        `json:"device"`
	ClientIdentifier       string         `json:"clientIdentifier"`
	CreatedAt              string         `json:"createdAt"`
	LastSeenAt             string         `json:"lastSeenAt"`
	Provides               string         `json:"provides"`
	OwnerID                *int           `json:"ownerId"`
	SourceTitle            *string        `json:"sourceTitle"`
	PublicAddress          string         `json:"publicAddress"`
	AccessToken            string         `json:"accessToken"`
	Owned                  bool           `json:"owned"`
	Home                   bool           `json:"home"`
	Synced                 bool           `json:"synced"`
	Relay                  bool           `json:"relay"`
	Presence               bool           `json:"presence"`
	HTTPSRequired          bool           `json:"httpsRequired"`
	PublicAddressMatches   bool           `json:"publicAddressMatches"`
	DNSRebindingProtection bool           `json:"dnsRebindingProtection"`
	NATLoopbackSupported   bool           `json:"natLoopbackSupported"`
	Connections            []tvConnection `json:"connections"`
}

// handleResources is GET /api/v2/resources: the token account's devices. The fake
// server is among them with accessToken = that account's server token; a second
// server owned by someone else and a player are there too, so a client has to pick
// provides == "server" and clientIdentifier == the machineIdentifier.
func (s *Server) handleResources(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !requireJSON(w, rc) {
		return
	}
	q := r.URL.Query()
	s.mu.RLock()
	owner := s.owner()
	u := rc.user
	host := r.Host
	hostname, portStr := host, "80"
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		hostname, portStr = host[:i], host[i+1:]
	}
	port, _ := strconv.Atoi(portStr)
	ts := func(sec int64) string { return time.Unix(sec, 0).UTC().Format(time.RFC3339) }
	sp := func(v string) *string { return &v }
	conns := []tvConnection{{Protocol: "http", Address: hostname, Port: port, URI: "http://" + host, Local: true}}
	dashed := strings.ReplaceAll(hostname, ".", "-")
	if q.Get("includeHttps") == "1" {
		conns = append(conns, tvConnection{Protocol: "https", Address: hostname, Port: port,
			URI: "https://" + dashed + "." + s.opts.MachineIdentifier[:32] + ".plex.direct:" + portStr, Local: true})
	}
	if q.Get("includeRelay") == "1" {
		conns = append(conns, tvConnection{Protocol: "https", Address: "198.51.100.9", Port: 8443,
			URI: "https://198-51-100-9." + s.opts.MachineIdentifier[:32] + ".plex.direct:8443", Relay: true})
	}
	if q.Get("includeIPv6") == "1" {
		conns = append(conns, tvConnection{Protocol: "http", Address: "fd00::20", Port: port, URI: "http://[fd00::20]:" + portStr, Local: true, IPv6: true})
	}
	srv := tvResource{
		Name: s.opts.FriendlyName, Product: "Plex Media Server", ProductVersion: s.opts.Version,
		Platform: sp("Linux"), PlatformVersion: sp("6.1.0"), Device: sp("PC"),
		ClientIdentifier: s.opts.MachineIdentifier, CreatedAt: ts(1_600_000_000), LastSeenAt: ts(s.now().Unix()),
		Provides: "server", PublicAddress: "203.0.113.7", AccessToken: u.ServerToken,
		Owned: u.Kind == Owner, Home: s.inHome(u), Relay: true, Presence: true,
		PublicAddressMatches: true, NATLoopbackSupported: true, Connections: conns,
	}
	if u.Kind != Owner {
		// ownerId is null only for the owner's own devices.
		srv.OwnerID = &owner.ID
		srv.SourceTitle = sp(owner.Username)
	}
	otherOwner := 99_000_001
	out := []tvResource{
		{
			Name: "Plex Web", Product: "Plex Web", ProductVersion: "4.145.1", Platform: sp("Chrome"), PlatformVersion: sp("128.0"),
			Device: sp("Linux"), ClientIdentifier: defaultPlayer(u).id, CreatedAt: ts(1_650_000_000), LastSeenAt: ts(s.now().Unix() - 3600),
			Provides: "client,player,pubsub-player", PublicAddress: "203.0.113.7", AccessToken: u.PlexTVToken,
			Owned: true, Presence: true, Connections: []tvConnection{},
		},
		srv,
		{
			Name: "Friend's Server", Product: "Plex Media Server", ProductVersion: s.opts.Version, Platform: sp("Windows"), PlatformVersion: sp("10.0"),
			Device: sp("PC"), ClientIdentifier: "f" + s.opts.MachineIdentifier[1:], CreatedAt: ts(1_550_000_000), LastSeenAt: ts(s.now().Unix() - 86400),
			Provides: "server", OwnerID: &otherOwner, SourceTitle: sp("friend"), PublicAddress: "198.51.100.44",
			AccessToken: "x" + u.ServerToken[1:], Presence: false,
			Connections: []tvConnection{{Protocol: "https", Address: "198.51.100.44", Port: 32400, URI: "https://198-51-100-44.ffffffffffffffffffffffffffffffff.plex.direct:32400"}},
		},
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, out)
}

// handleSharedServers is GET /api/servers/{machineIdentifier}/shared_servers (XML,
// owner token): one SharedServer per account the server is shared with, carrying
// that account's server token. Managed Home users are listed too, with empty
// username and email (match them to /api/users by userID).
func (s *Server) handleSharedServers(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if rc.user.Kind != Owner {
		writePlexTVError(w, rc.format, http.StatusUnauthorized, 1001, "User could not be authenticated")
		return
	}
	if r.PathValue("machineIdentifier") != s.opts.MachineIdentifier {
		writePlexTVError(w, rc.format, http.StatusNotFound, 1020, "Resource not found")
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := newEnc(formatXML, nil)
	e.root("MediaContainer")
	e.str("friendlyName", "myPlex")
	e.str("identifier", "com.plexapp.plugins.myplex")
	e.str("machineIdentifier", s.opts.MachineIdentifier)
	n := 0
	for _, a := range s.accounts {
		if a.Kind != Owner {
			n++
		}
	}
	e.num("size", int64(n))
	for _, a := range s.accounts {
		if a.Kind == Owner {
			continue
		}
		e.open("SharedServer")
		e.num("id", int64(8_000_000+a.ID%1_000_000))
		e.str("username", a.Username)
		e.str("email", a.Email)
		e.num("userID", int64(a.ID))
		e.str("accessToken", a.ServerToken)
		e.str("name", s.opts.FriendlyName)
		e.num("acceptedAt", 1_650_000_000)
		e.num("invitedAt", 1_649_990_000)
		e.str("allowSync", "0")
		e.str("allowCameraUpload", "0")
		e.str("allowChannels", "0")
		e.str("allowTuners", "0")
		e.str("allowSubtitleAdmin", "0")
		e.str("owned", "0")
		all := a.Sections == nil
		e.boolean("allLibraries", all)
		e.str("filterAll", "")
		e.str("filterMovies", "")
		e.str("filterMusic", "")
		e.str("filterPhotos", "")
		e.str("filterTelevision", "")
		for _, sec := range s.sections {
			e.open("Section")
			id, _ := strconv.Atoi(sec.spec.Key)
			e.num("id", int64(7_000+id))
			e.str("key", sec.spec.Key)
			e.str("title", sec.spec.Title)
			e.str("type", sec.spec.Type)
			e.boolean("shared", a.canSee(sec))
			e.close()
		}
		e.close()
	}
	out := e.finish()
	writeDoc(w, formatXML, http.StatusOK, out)
}

// handlePlexTVUsers is GET /api/users (owner token): the accounts the owner shares
// with, Home members included (home="1"). XML by default; JSON when asked, in the
// shape plex-openapi.yaml gives /users.
func (s *Server) handlePlexTVUsers(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if rc.user.Kind != Owner {
		writePlexTVError(w, rc.format, http.StatusUnauthorized, 1001, "User could not be authenticated")
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var users []*account
	for _, a := range s.accounts {
		if a.Kind != Owner {
			users = append(users, a)
		}
	}
	e := newEnc(rc.format, nil)
	e.root("MediaContainer")
	e.str("friendlyName", "myPlex")
	e.str("identifier", "com.plexapp.plugins.myplex")
	e.str("machineIdentifier", s.opts.MachineIdentifier)
	e.num("totalSize", int64(len(users)))
	e.num("size", int64(len(users)))
	flag := func(k string, v bool) {
		if v {
			e.num(k, 1)
		} else {
			e.num(k, 0)
		}
	}
	e.group("User")
	for _, a := range users {
		e.open("User")
		e.num("id", int64(a.ID))
		e.str("title", a.Title)
		e.str("username", a.Username)
		e.str("email", a.Email)
		e.str("recommendationsPlaylistId", "")
		e.str("thumb", avatarURL(a))
		flag("protected", a.PIN != "")
		flag("home", s.inHome(a))
		flag("allowTuners", false)
		flag("allowSync", false)
		flag("allowCameraUpload", false)
		flag("allowChannels", false)
		flag("allowSubtitleAdmin", false)
		e.str("filterAll", "")
		e.str("filterMovies", "")
		e.str("filterMusic", "")
		e.str("filterPhotos", "")
		e.str("filterTelevision", "")
		flag("restricted", a.Restricted)
		e.group("Server")
		e.open("Server")
		e.num("id", int64(9_000_000+a.ID%1_000_000))
		e.num("serverId", 1)
		e.str("machineIdentifier", s.opts.MachineIdentifier)
		e.str("name", s.opts.FriendlyName)
		e.num("lastSeenAt", s.now().Unix())
		n := 0
		for _, sec := range s.sections {
			if a.canSee(sec) {
				n++
			}
		}
		e.num("numLibraries", int64(n))
		flag("allLibraries", a.Sections == nil)
		flag("owned", true)
		flag("pending", false)
		e.close()
		e.endGroup()
		e.close()
	}
	e.endGroup()
	out := e.finish()
	writeDoc(w, rc.format, http.StatusOK, out)
}
