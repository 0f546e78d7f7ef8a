package fake_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/keepwatch/keepwatch/backends/plex/fake"
)

type homeUser struct {
	ID           int     `json:"id"`
	UUID         string  `json:"uuid"`
	Title        string  `json:"title"`
	Username     *string `json:"username"`
	Email        *string `json:"email"`
	FriendlyName *string `json:"friendlyName"`
	Thumb        string  `json:"thumb"`
	Admin        bool    `json:"admin"`
	Guest        bool    `json:"guest"`
	Restricted   bool    `json:"restricted"`
	Protected    bool    `json:"protected"`
	Home         bool    `json:"home"`
}

type resource struct {
	Name             string `json:"name"`
	Provides         string `json:"provides"`
	ClientIdentifier string `json:"clientIdentifier"`
	AccessToken      string `json:"accessToken"`
	Owned            bool   `json:"owned"`
	OwnerID          *int   `json:"ownerId"`
	Connections      []struct {
		URI   string `json:"uri"`
		Local bool   `json:"local"`
		Relay bool   `json:"relay"`
	} `json:"connections"`
}

func decodeJSON(t testing.TB, r reply, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %q: %v", truncate(r.body), err)
	}
}

// serverToken follows wire-formats §2.3: resources with a plex.tv token, the element
// that provides "server" with our machineIdentifier, its accessToken.
func serverToken(t testing.TB, srv *fake.Server, base, plexTVToken string) string {
	t.Helper()
	r := call(t, http.MethodGet, base+"/api/v2/resources?includeIPv6=1&includeHttps=1&includeRelay=1", plexTVToken, jsonAccept)
	if r.status != 200 {
		t.Fatalf("resources: %d %s", r.status, r.body)
	}
	var res []resource
	decodeJSON(t, r, &res)
	for _, d := range res {
		if d.Provides == "server" && d.ClientIdentifier == srv.MachineIdentifier() {
			return d.AccessToken
		}
	}
	t.Fatalf("resources has no server %s: %s", srv.MachineIdentifier(), r.body)
	return ""
}

func TestPlexTVHomeUserFlow(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 21, Movies: 2})
	owner := srv.Owner()

	r := call(t, http.MethodGet, ts.URL+"/api/v2/home/users/", owner.PlexTVToken, jsonAccept)
	var home struct {
		Users []homeUser `json:"users"`
	}
	decodeJSON(t, r, &home)
	var got []string
	for _, u := range home.Users {
		got = append(got, u.Title+map[bool]string{true: " admin", false: ""}[u.Admin]+map[bool]string{true: " protected", false: ""}[u.Protected])
		if u.UUID == "" || u.ID == 0 || u.Thumb == "" {
			t.Errorf("home user %+v lacks id/uuid/thumb", u)
		}
	}
	if diff := cmp.Diff([]string{"admin admin", "alice", "kid protected", "teen"}, got); diff != "" {
		t.Errorf("home users (shared bob is not in the Home) (-want +got):\n%s", diff)
	}
	for _, u := range home.Users {
		if u.Title == "kid" && (u.Email != nil || u.Username != nil || !u.Restricted) {
			t.Errorf("managed user %+v: want no email/username, restricted", u)
		}
	}

	alice, kid := mustUser(t, srv, "alice"), mustUser(t, srv, "kid")
	tests := []struct {
		name, id, pin string
		status        int
		token         string
	}{
		{"switch by uuid", alice.UUID, "", 201, alice.PlexTVToken},
		{"switch by numeric id", strconv.Itoa(alice.ID), "", 201, alice.PlexTVToken},
		{"protected without pin", kid.UUID, "", 403, ""},
		{"protected wrong pin", kid.UUID, "0000", 403, ""},
		{"protected right pin", kid.UUID, kid.PIN, 201, kid.PlexTVToken},
		{"shared user is not in the Home", mustUser(t, srv, "bob").UUID, "", 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := ts.URL + "/api/v2/home/users/" + tc.id + "/switch"
			if tc.pin != "" {
				u += "?pin=" + tc.pin
			}
			r := call(t, http.MethodPost, u, owner.PlexTVToken, jsonAccept)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 403 {
				var e struct {
					Errors []struct {
						Code   int `json:"code"`
						Status int `json:"status"`
					} `json:"errors"`
				}
				decodeJSON(t, r, &e)
				if len(e.Errors) != 1 || e.Errors[0].Code != 1041 {
					t.Errorf("403 body %s, want code 1041", r.body)
				}
			}
			if tc.status != 201 {
				return
			}
			var acc struct {
				AuthToken string `json:"authToken"`
				UUID      string `json:"uuid"`
			}
			decodeJSON(t, r, &acc)
			if acc.AuthToken != tc.token {
				t.Errorf("authToken %q, want the user's plex.tv token", acc.AuthToken)
			}
		})
	}

	// authToken → resources → server token → the user's own state on PMS.
	tok := serverToken(t, srv, ts.URL, alice.PlexTVToken)
	if tok != alice.ServerToken {
		t.Fatalf("resources accessToken %q, want alice's server token", tok)
	}
	movie := srv.Items("movie")[0].RatingKey
	call(t, http.MethodPut, ts.URL+"/:/scrobble?identifier=com.plexapp.plugins.library&key="+movie, tok, nil)
	if st, _ := srv.State("alice", movie); st.ViewCount != 1 {
		t.Errorf("scrobble with alice's server token did not reach alice: %+v", st)
	}
	if st, _ := srv.State("admin", movie); st.ViewCount != 0 {
		t.Errorf("scrobble with alice's token reached the owner: %+v", st)
	}

	// The owner's server token is its plex.tv token.
	if got := serverToken(t, srv, ts.URL, owner.PlexTVToken); got != owner.PlexTVToken {
		t.Errorf("owner's accessToken %q, want its plex.tv token", got)
	}
}

func TestResources(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 22, Movies: 1})
	r := call(t, http.MethodGet, ts.URL+"/api/v2/resources?includeHttps=1&includeRelay=1", mustUser(t, srv, "bob").PlexTVToken, jsonAccept)
	var res []resource
	decodeJSON(t, r, &res)
	servers := 0
	for _, d := range res {
		if d.Provides != "server" {
			continue
		}
		servers++
		if d.ClientIdentifier != srv.MachineIdentifier() {
			continue
		}
		if d.Owned || d.OwnerID == nil || *d.OwnerID != srv.Owner().ID {
			t.Errorf("shared user's view of the server: owned=%v ownerId=%v", d.Owned, d.OwnerID)
		}
		if len(d.Connections) != 3 || d.Connections[0].URI != ts.URL || !d.Connections[2].Relay {
			t.Errorf("connections %+v, want local %s first plus https and relay", d.Connections, ts.URL)
		}
	}
	if servers != 2 {
		t.Errorf("%d servers in resources, want ours and a friend's", servers)
	}
	if r := call(t, http.MethodGet, ts.URL+"/api/v2/resources", mustUser(t, srv, "bob").PlexTVToken, nil); r.status != http.StatusNotAcceptable {
		t.Errorf("resources without Accept JSON: %d, want 406", r.status)
	}
}

func TestSharedServersAndUsers(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 23, Movies: 1})
	owner, bob := srv.Owner(), mustUser(t, srv, "bob")

	r := call(t, http.MethodGet, ts.URL+"/api/servers/"+srv.MachineIdentifier()+"/shared_servers", owner.PlexTVToken, nil)
	if r.status != 200 {
		t.Fatalf("shared_servers: %d %s", r.status, r.body)
	}
	root := decodeXML(t, r.body)
	tokens := map[string]string{}
	for _, n := range root.Nodes {
		if n.XMLName.Local != "SharedServer" {
			t.Errorf("unexpected <%s>", n.XMLName.Local)
			continue
		}
		id, _ := n.attr("userID")
		tok, _ := n.attr("accessToken")
		name, _ := n.attr("username")
		tokens[id] = tok
		if id == strconv.Itoa(mustUser(t, srv, "kid").ID) && name != "" {
			t.Errorf("managed user listed with username %q, want empty", name)
		}
	}
	if tokens[strconv.Itoa(bob.ID)] != bob.ServerToken {
		t.Errorf("bob's accessToken %q, want his server token", tokens[strconv.Itoa(bob.ID)])
	}
	if _, ok := tokens[strconv.Itoa(owner.ID)]; ok {
		t.Error("owner listed in shared_servers")
	}
	// bob's token works on PMS and shows bob's state.
	if r := call(t, http.MethodGet, ts.URL+"/library/sections", bob.ServerToken, nil); r.status != 200 {
		t.Errorf("bob's server token: %d", r.status)
	}
	if r := call(t, http.MethodGet, ts.URL+"/api/servers/"+srv.MachineIdentifier()+"/shared_servers", bob.PlexTVToken, nil); r.status != 401 {
		t.Errorf("shared_servers with bob's token: %d, want 401", r.status)
	}

	r = call(t, http.MethodGet, ts.URL+"/api/users/", owner.PlexTVToken, nil)
	root = decodeXML(t, r.body)
	homes := map[string]string{}
	for _, n := range root.Nodes {
		title, _ := n.attr("title")
		h, _ := n.attr("home")
		homes[title] = h
		if len(n.Nodes) != 1 || n.Nodes[0].XMLName.Local != "Server" {
			t.Errorf("User %s has no <Server>", title)
		} else if mid, _ := n.Nodes[0].attr("machineIdentifier"); mid != srv.MachineIdentifier() {
			t.Errorf("User %s Server machineIdentifier %q", title, mid)
		}
	}
	if diff := cmp.Diff(map[string]string{"alice": "1", "kid": "1", "teen": "1", "bob": "0"}, homes); diff != "" {
		t.Errorf("/api/users home flags (-want +got):\n%s", diff)
	}
}

func TestTokenRotation(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 24, Movies: 1})
	alice := mustUser(t, srv, "alice")
	newTok, err := srv.RotateServerToken("alice")
	if err != nil {
		t.Fatal(err)
	}
	if r := call(t, http.MethodGet, ts.URL+"/library/sections", alice.ServerToken, nil); r.status != 401 || string(r.body) != unauthorizedBody {
		t.Errorf("old server token: %d %s", r.status, r.body)
	}
	if got := serverToken(t, srv, ts.URL, alice.PlexTVToken); got != newTok {
		t.Errorf("resources after rotation gives %q, want the new token", got)
	}
	if r := call(t, http.MethodGet, ts.URL+"/library/sections", newTok, nil); r.status != 200 {
		t.Errorf("new server token: %d", r.status)
	}

	newTV, err := srv.RotatePlexTVToken("alice")
	if err != nil {
		t.Fatal(err)
	}
	r := call(t, http.MethodGet, ts.URL+"/api/v2/resources", alice.PlexTVToken, jsonAccept)
	var e struct {
		Errors []struct {
			Code int `json:"code"`
		} `json:"errors"`
	}
	decodeJSON(t, r, &e)
	if r.status != 401 || len(e.Errors) != 1 || e.Errors[0].Code != 1001 {
		t.Errorf("old plex.tv token: %d %s", r.status, r.body)
	}
	// The owner switching to alice gets her new plex.tv token.
	r = call(t, http.MethodPost, ts.URL+"/api/v2/home/users/"+alice.UUID+"/switch", srv.Owner().PlexTVToken, jsonAccept)
	var acc struct {
		AuthToken string `json:"authToken"`
	}
	decodeJSON(t, r, &acc)
	if acc.AuthToken != newTV {
		t.Errorf("switch after rotation: %q, want %q", acc.AuthToken, newTV)
	}
	// XML error shape without Accept JSON.
	r = call(t, http.MethodGet, ts.URL+"/api/v2/user", "nope", nil)
	if root := decodeXML(t, r.body); r.status != 401 || root.XMLName.Local != "errors" {
		t.Errorf("plex.tv 401 XML: %d %s", r.status, r.body)
	}
}

func TestPlexTVUser(t *testing.T) {
	srv, ts := start(t, fake.Options{Seed: 25, Movies: 1})
	owner := srv.Owner()
	r := call(t, http.MethodGet, ts.URL+"/api/v2/user", owner.PlexTVToken, jsonAccept)
	var acc struct {
		ID        int    `json:"id"`
		UUID      string `json:"uuid"`
		Username  string `json:"username"`
		AuthToken string `json:"authToken"`
		HomeAdmin bool   `json:"homeAdmin"`
	}
	decodeJSON(t, r, &acc)
	if acc.ID != owner.ID || acc.UUID != owner.UUID || acc.Username != owner.Username || acc.AuthToken != owner.PlexTVToken || !acc.HomeAdmin {
		t.Errorf("/api/v2/user %+v", acc)
	}
}
