package plex

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/keepwatch/keepwatch/backends/internal/httpx"
	"github.com/keepwatch/keepwatch/plugins"
)

// Watched state on PMS is per token (wire-formats §2.2, §6.11): to read or write
// another user's state keepwatch needs that user's server token, which only
// plex.tv hands out (§2.3):
//
//   - the owner: the configured token;
//   - Plex Home and managed users: plex.tv /api/v2/home/users lists them; a
//     switch (POST clients.plex.tv/api/v2/home/users/{uuid}/switch, with ?pin=
//     for protected members) gives the member's plex.tv token, and
//     /api/v2/resources asked with that token gives the accessToken of this
//     server (provides "server", clientIdentifier = machineIdentifier);
//   - shared (invited) users: /api/servers/{machineIdentifier}/shared_servers
//     lists each with its accessToken.
//
// Account ids are plex.tv ids: they are what webhooks carry for everyone but
// the owner, and what Tautulli's user_id is. PMS itself calls the owner 1
// (webhooks of most versions, /accounts, sessions); that id is accepted and
// mapped to the owner's plex.tv id wherever an account id comes in, so
// webhooks and ListAccounts agree.

type accountKind uint8

const (
	kindOwner accountKind = iota
	kindHome
	kindManaged
	kindShared
)

type account struct {
	id        string // plex.tv id
	uuid      string
	name      string // username; the title for managed users, who have none
	title     string
	kind      accountKind
	protected bool
}

// accountsTTL is how long the account list from plex.tv is trusted; a 401 on a
// user's token refreshes it at once.
const accountsTTL = time.Hour

// directory caches the accounts and their server tokens.
type directory struct {
	c *client

	mu        sync.Mutex
	loadedAt  time.Time
	machineID string
	accounts  []account         // owner first
	shared    map[string]string // plex.tv id → accessToken from shared_servers
	tokens    map[string]string // plex.tv id → PMS token
	ownerTok  string            // the owner's PMS token when it is not the configured one
}

func newDirectory(c *client) *directory {
	return &directory{c: c, tokens: map[string]string{}}
}

// tvUser is plex.tv's account document (/api/v2/user), and a Home member
// (/api/v2/home/users) or switch answer: the fields read here are common.
type tvUser struct {
	ID        int64   `json:"id"`
	UUID      string  `json:"uuid"`
	Username  *string `json:"username"`
	Title     string  `json:"title"`
	Admin     bool    `json:"admin"`
	Protected bool    `json:"protected"`
	AuthToken string  `json:"authToken"`
}

type tvHome struct {
	Users []tvUser `json:"users"`
}

type tvResource struct {
	Provides         string `json:"provides"`
	ClientIdentifier string `json:"clientIdentifier"`
	AccessToken      string `json:"accessToken"`
}

type sharedServers struct {
	SharedServer []struct {
		UserID      string `xml:"userID,attr"`
		Username    string `xml:"username,attr"`
		Email       string `xml:"email,attr"`
		AccessToken string `xml:"accessToken,attr"`
	} `xml:"SharedServer"`
}

func (d *directory) tv(method, base, path string, q url.Values, token string) request {
	return request{method: method, base: base, path: path, query: q, token: token, plexTV: true}
}

// staleRetry is how soon a refresh is tried again after plex.tv failed while
// an older account list was at hand (which stays in use meanwhile).
const staleRetry = time.Minute

// load refreshes the account list when it is older than accountsTTL. When
// plex.tv or PMS cannot be reached and an older list exists, the older list is
// kept: a plex.tv outage must not stop syncing the accounts already known.
// The caller holds d.mu.
func (d *directory) load(ctx context.Context) error {
	if !d.loadedAt.IsZero() && time.Since(d.loadedAt) < accountsTTL {
		return nil
	}
	err := d.fetch(ctx)
	if err != nil && d.accounts != nil && ctx.Err() == nil && errors.Is(err, plugins.ErrUnavailable) {
		d.c.log.Warn().Err(err).Msg("refreshing Plex accounts failed; using the previous list")
		d.loadedAt = time.Now().Add(staleRetry - accountsTTL)
		return nil
	}
	return err
}

// fetch reads the account list from PMS and plex.tv. The caller holds d.mu.
func (d *directory) fetch(ctx context.Context) error {
	s := d.c.s
	var id container
	if err := d.c.get(ctx, s.token, "/identity", nil, &id); err != nil {
		return fmt.Errorf("plex: read server identity: %w", unavailable(err))
	}
	mid := id.MediaContainer.MachineIdentifier
	if mid == "" {
		return fmt.Errorf("plex: /identity answered no machineIdentifier")
	}
	var me tvUser
	if err := d.c.decode(ctx, d.tv(http.MethodGet, s.plexTV, "/api/v2/user", nil, s.token), &me); err != nil {
		return fmt.Errorf("plex: read the owner's plex.tv account: %w", unavailable(err))
	}
	owner := account{id: itoa(me.ID), uuid: me.UUID, name: nameOf(me.Username, me.Title), title: me.Title, kind: kindOwner}
	accounts := []account{owner}
	seen := map[string]bool{owner.id: true}

	var home tvHome
	err := d.c.decode(ctx, d.tv(http.MethodGet, s.plexTV, "/api/v2/home/users", nil, s.token), &home)
	switch {
	case isNotFound(err):
		// No Plex Home: only shared users.
	case err != nil:
		return fmt.Errorf("plex: list Plex Home users: %w", unavailable(err))
	}
	for _, u := range home.Users {
		a := account{id: itoa(u.ID), uuid: u.UUID, name: nameOf(u.Username, u.Title), title: u.Title, kind: kindHome, protected: u.Protected}
		if u.Username == nil || *u.Username == "" {
			a.kind = kindManaged
		}
		if seen[a.id] {
			continue
		}
		seen[a.id] = true
		accounts = append(accounts, a)
	}

	var ss sharedServers
	shared := map[string]string{}
	err = d.c.decode(ctx, request{method: http.MethodGet, base: s.plexTV, path: "/api/servers/" + url.PathEscape(mid) + "/shared_servers",
		token: s.token, xml: true, plexTV: true}, &ss)
	switch {
	case isNotFound(err):
		// Shared with nobody.
	case err != nil:
		return fmt.Errorf("plex: list the server's shared users: %w", unavailable(err))
	}
	for _, sh := range ss.SharedServer {
		if sh.UserID == "" {
			continue
		}
		if sh.AccessToken != "" {
			shared[sh.UserID] = sh.AccessToken
		}
		if seen[sh.UserID] {
			continue
		}
		seen[sh.UserID] = true
		name := sh.Username
		if name == "" {
			name = sh.Email
		}
		if name == "" {
			name = "plex user " + sh.UserID
		}
		accounts = append(accounts, account{id: sh.UserID, name: name, title: name, kind: kindShared})
	}
	d.machineID, d.accounts, d.shared, d.loadedAt = mid, accounts, shared, time.Now()
	return nil
}

func nameOf(username *string, title string) string {
	if username != nil && *username != "" {
		return *username
	}
	return title
}

// list answers the accounts, owner first.
func (d *directory) list(ctx context.Context) ([]account, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.load(ctx); err != nil {
		return nil, err
	}
	return append([]account(nil), d.accounts...), nil
}

// owner answers the owner's account.
func (d *directory) owner(ctx context.Context) (account, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.load(ctx); err != nil {
		return account{}, err
	}
	return d.accounts[0], nil
}

// find resolves an account reference: a plex.tv id, PMS's owner id 1, or a
// name (case-insensitive), for configurations written by hand.
func (d *directory) find(ctx context.Context, ref string) (account, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.load(ctx); err != nil {
		return account{}, err
	}
	if ref == "" || ref == localOwnerID {
		return d.accounts[0], nil
	}
	for _, a := range d.accounts {
		if a.id == ref {
			return a, nil
		}
	}
	for _, a := range d.accounts {
		if strings.EqualFold(a.name, ref) || strings.EqualFold(a.title, ref) {
			return a, nil
		}
	}
	return account{}, fmt.Errorf("plex: no account %q on this server (known: %s); use an id from `keepwatch backends accounts`", ref, d.namesLocked())
}

func (d *directory) namesLocked() string {
	var b strings.Builder
	for i, a := range d.accounts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.id + " " + a.name)
	}
	return b.String()
}

// canonicalID maps a webhook's Account.id to the account id ListAccounts uses.
func (d *directory) canonicalID(ctx context.Context, id string) (string, error) {
	if id != localOwnerID {
		return id, nil
	}
	o, err := d.owner(ctx)
	if err != nil {
		return "", err
	}
	return o.id, nil
}

// token answers the PMS token of a.
func (d *directory) token(ctx context.Context, a account) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if a.kind == kindOwner {
		if d.ownerTok != "" {
			return d.ownerTok, nil
		}
		return d.c.s.token, nil
	}
	if t, ok := d.tokens[a.id]; ok {
		return t, nil
	}
	if err := d.load(ctx); err != nil {
		return "", err
	}
	t, err := d.fetchToken(ctx, a)
	if err != nil {
		return "", err
	}
	d.tokens[a.id] = t
	return t, nil
}

// fetchToken asks plex.tv for a's server token. The caller holds d.mu.
func (d *directory) fetchToken(ctx context.Context, a account) (string, error) {
	if a.kind == kindShared {
		if t := d.shared[a.id]; t != "" {
			return t, nil
		}
		return "", fmt.Errorf("plex: plex.tv lists no server token for shared user %q (%s): is the server still shared with them?", a.name, a.id)
	}
	t, err := d.switchToken(ctx, a)
	if err == nil {
		return t, nil
	}
	// A PIN-protected member without a configured PIN (or a failed switch) may
	// still be reachable through shared_servers, which lists managed users too.
	if st := d.shared[a.id]; st != "" {
		return st, nil
	}
	return "", err
}

// switchToken is the Home path: switch to the member, then find this server's
// accessToken among the member's resources.
func (d *directory) switchToken(ctx context.Context, a account) (string, error) {
	s := d.c.s
	q := url.Values{}
	pin := d.pinFor(a)
	if pin != "" {
		q.Set("pin", pin)
	}
	var sw tvUser
	err := d.c.decode(ctx, d.tv(http.MethodPost, s.clients, "/api/v2/home/users/"+url.PathEscape(a.uuid)+"/switch", q, s.token), &sw)
	if err != nil {
		if httpx403(err) && a.protected && pin == "" {
			return "", fmt.Errorf("plex: Home user %q is protected by a PIN: add it to options.%s (%s=1234): %w", a.name, optHomePINs, a.name, err)
		}
		return "", fmt.Errorf("plex: switch to Home user %q: %w", a.name, unavailable(err))
	}
	if sw.AuthToken == "" {
		return "", fmt.Errorf("plex: switch to Home user %q answered no authToken", a.name)
	}
	var res []tvResource
	q = url.Values{"includeHttps": {"1"}, "includeRelay": {"1"}, "includeIPv6": {"1"}}
	if err := d.c.decode(ctx, d.tv(http.MethodGet, s.plexTV, "/api/v2/resources", q, sw.AuthToken), &res); err != nil {
		return "", fmt.Errorf("plex: list resources of Home user %q: %w", a.name, unavailable(err))
	}
	if t := serverAccessToken(res, d.machineID); t != "" {
		return t, nil
	}
	return "", fmt.Errorf("plex: plex.tv lists no access to server %s for Home user %q: share the libraries with them", d.machineID, a.name)
}

func serverAccessToken(res []tvResource, machineID string) string {
	for _, r := range res {
		if containsWord(r.Provides, "server") && r.ClientIdentifier == machineID && r.AccessToken != "" {
			return r.AccessToken
		}
	}
	return ""
}

func (d *directory) pinFor(a account) string {
	for _, k := range []string{a.uuid, a.id, a.name, a.title} {
		if p, ok := d.c.s.pins[strings.ToLower(k)]; ok && k != "" {
			return p
		}
	}
	return ""
}

func httpx403(err error) bool { return httpx.IsStatus(err, http.StatusForbidden) }

// refresh forgets a's token after PMS refused it (rotated, unshared) and asks
// plex.tv again. For the owner, the configured token is the plex.tv token; its
// PMS token is looked up among its resources.
func (d *directory) refresh(ctx context.Context, a account) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.tokens, a.id)
	d.loadedAt = time.Time{}
	if a.kind != kindOwner {
		return nil
	}
	if err := d.load(ctx); err != nil {
		return err
	}
	var res []tvResource
	if err := d.c.decode(ctx, d.tv(http.MethodGet, d.c.s.plexTV, "/api/v2/resources", url.Values{"includeHttps": {"1"}}, d.c.s.token), &res); err != nil {
		return fmt.Errorf("plex: refresh the owner's server token: %w", unavailable(err))
	}
	d.ownerTok = serverAccessToken(res, d.machineID)
	return nil
}

// withToken runs fn with a's PMS token; when PMS answers 401, the token is
// refreshed from plex.tv and fn runs once more.
func (d *directory) withToken(ctx context.Context, a account, fn func(token string) error) error {
	tok, err := d.token(ctx, a)
	if err != nil {
		return err
	}
	err = fn(tok)
	if !isAuth(err) {
		return err
	}
	if rerr := d.refresh(ctx, a); rerr != nil {
		return errors.Join(err, rerr)
	}
	fresh, terr := d.token(ctx, a)
	if terr != nil {
		return errors.Join(err, terr)
	}
	if fresh == tok {
		return err
	}
	return fn(fresh)
}

// pluginAccounts converts accounts for ListAccounts.
func pluginAccounts(as []account) []plugins.Account {
	out := make([]plugins.Account, len(as))
	for i, a := range as {
		out[i] = plugins.Account{ID: a.id, Name: a.name, Admin: a.kind == kindOwner}
	}
	return out
}
