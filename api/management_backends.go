package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/keepwatch/keepwatch/core/pipeline"
	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/host"
)

// backendTestTimeout bounds POST /backends/{name}/test.
const backendTestTimeout = 30 * time.Second

// Backend is what keepwatch knows of one backend: its server, as last
// checked, and the plugin process that talks to it.
type Backend struct {
	pipeline.Status
	Plugin *Plugin `json:"plugin,omitempty"`
}

// Plugin is the supervised plugin process of one backend (see plugins/host):
// its state, how often it was restarted and why it last failed.
type Plugin struct {
	State     host.State  `json:"state"`
	Since     time.Time   `json:"since"`
	Source    host.Source `json:"source"`
	Path      string      `json:"path"`
	Protocol  int         `json:"protocol,omitempty"`
	PID       int         `json:"pid,omitempty"`
	Restarts  int         `json:"restarts"`
	LastError string      `json:"last_error,omitempty"`
}

// backend returns a backend's status with lists that encode as [] rather
// than null, and its plugin's state when the daemon supervises one.
func backend(s pipeline.Status, plugs map[string]host.Status) Backend {
	if s.Capabilities == nil {
		s.Capabilities = []plugins.Capability{}
	}
	out := Backend{Status: s}
	if p, ok := plugs[s.Name]; ok {
		out.Plugin = &Plugin{State: p.State, Since: p.Since, Source: p.Source, Path: p.Path, Protocol: p.Protocol,
			PID: p.PID, Restarts: p.Restarts, LastError: p.LastError}
	}
	return out
}

// plugins answers the host's view of every backend's plugin, by backend.
func (m *Management) plugins() map[string]host.Status {
	out := map[string]host.Status{}
	if m.deps.Plugins != nil {
		for _, p := range m.deps.Plugins() {
			out[p.Name] = p
		}
	}
	return out
}

func (m *Management) listBackends(w http.ResponseWriter, r *http.Request) error {
	out := make([]Backend, 0)
	plugs := m.plugins()
	for _, b := range m.deps.Backends.Backends() {
		out = append(out, backend(b.Status(), plugs))
	}
	return ok(w, r, out)
}

func (m *Management) testBackend(w http.ResponseWriter, r *http.Request) error {
	b, err := m.knownBackend("backend", mux.Vars(r)["name"])
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), backendTestTimeout)
	defer cancel()
	return ok(w, r, backend(b.Check(ctx), m.plugins()))
}

// Account is one account a backend listed, with the user it is mapped to
// ("" when unmapped).
type Account struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Admin bool   `json:"admin"`
	User  string `json:"user"`
}

func (m *Management) backendAccounts(w http.ResponseWriter, r *http.Request) error {
	name := mux.Vars(r)["name"]
	if _, err := m.knownBackend("backend", name); err != nil {
		return err
	}
	accs, _ := m.deps.Backends.Accounts(name)
	dir := m.deps.Backends.Directory()
	out := make([]Account, 0, len(accs))
	for _, a := range accs {
		user, _ := dir.UserOf(name, a.ID, "")
		out = append(out, Account{ID: a.ID, Name: a.Name, Admin: a.Admin, User: user})
	}
	return ok(w, r, out)
}

// Users is the household table: each user's account per backend, and the
// accounts no user is mapped to.
type Users struct {
	Backends []string            `json:"backends"`
	Users    []User              `json:"users"`
	Unmapped []pipeline.Unmapped `json:"unmapped"`
}

// User is one household member and, per backend name, their account.
type User struct {
	Name     string                 `json:"name"`
	Accounts map[string]UserAccount `json:"accounts"`
}

// UserAccount is a user's account on one backend and how it was mapped
// ("config" or "auto").
type UserAccount struct {
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name"`
	Source      string `json:"source"`
}

func (m *Management) listUsers(w http.ResponseWriter, r *http.Request) error {
	dir := m.deps.Backends.Directory()
	out := Users{Backends: []string{}, Users: []User{}, Unmapped: dir.Unmapped()}
	if out.Unmapped == nil {
		out.Unmapped = []pipeline.Unmapped{}
	}
	for _, b := range m.deps.Backends.Backends() {
		out.Backends = append(out.Backends, b.Name)
	}
	byName := map[string]int{}
	for _, u := range dir.Users() {
		byName[u] = len(out.Users)
		out.Users = append(out.Users, User{Name: u, Accounts: map[string]UserAccount{}})
	}
	for _, mp := range dir.Mappings() {
		i, found := byName[mp.User]
		if !found {
			continue
		}
		out.Users[i].Accounts[mp.Backend] = UserAccount{AccountID: mp.AccountID, AccountName: mp.AccountName, Source: mp.Source}
	}
	return ok(w, r, out)
}

// Webhook is one webhook URL: User is "*" for a backend-wide token.
type Webhook struct {
	User    string `json:"user"`
	Backend string `json:"backend"`
	URL     string `json:"url"`
}

// publicURL is server.public_url, or the address this request came to.
func (m *Management) publicURL(r *http.Request) string {
	if m.deps.PublicURL != "" {
		return m.deps.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (m *Management) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	toks, err := m.deps.Store.ListTokens()
	if err != nil {
		return err
	}
	base := m.publicURL(r)
	out := make([]Webhook, 0, len(toks))
	for _, t := range toks {
		out = append(out, Webhook{User: t.User, Backend: t.Backend, URL: WebhookURL(base, t.Token)})
	}
	return ok(w, r, out)
}

// RotateRequest names the token to replace.
type RotateRequest struct {
	User    string `json:"user"`
	Backend string `json:"backend"`
}

func (m *Management) rotateWebhook(w http.ResponseWriter, r *http.Request) error {
	var req RotateRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	switch {
	case req.User == "":
		return badRequest(`body field "user" is required (a user name, or "*" for a backend-wide token)`)
	case req.Backend == "":
		return badRequest(`body field "backend" is required (a configured backend's name)`)
	}
	if _, err := m.knownBackend("backend", req.Backend); err != nil {
		return err
	}
	if err := m.knownUser("user", req.User, true); err != nil {
		return err
	}
	tok, err := RotateToken(m.deps.Store, req.User, req.Backend, m.deps.Now())
	if err != nil {
		return err
	}
	m.log.Info().Str("user", req.User).Str("backend", req.Backend).Msg("webhook token rotated")
	return ok(w, r, Webhook{User: req.User, Backend: req.Backend, URL: WebhookURL(m.publicURL(r), tok.Token)})
}

// Delivery is one webhook delivery and what became of it. Body is the raw
// payload, kept for rejected deliveries only, cut to maxShownBody bytes.
type Delivery struct {
	ID         uint64    `json:"id"`
	User       string    `json:"user"`
	Backend    string    `json:"backend"`
	ReceivedAt time.Time `json:"received_at"`
	Method     string    `json:"method,omitempty"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	Changes    int       `json:"changes"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Truncated  bool      `json:"truncated,omitempty"`
	Body       string    `json:"body,omitempty"`
}

// maxShownBody bounds the payload shown per delivery; headers are never
// shown (they may carry a server's credentials).
const maxShownBody = 4096

func (m *Management) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	backend := r.URL.Query().Get("backend")
	if backend != "" {
		if _, err := m.knownBackend("backend", backend); err != nil {
			return err
		}
	}
	limit, err := queryLimit(r, 50, 1000)
	if err != nil {
		return err
	}
	ds, err := m.deps.Store.ListDeliveries(backend, limit)
	if err != nil {
		return err
	}
	out := make([]Delivery, 0, len(ds))
	for _, d := range ds {
		v := Delivery{ID: d.ID, User: d.User, Backend: d.Backend, ReceivedAt: d.ReceivedAt, Method: d.Method,
			Status: d.Status, Reason: d.Reason, Changes: d.Changes, FinishedAt: d.FinishedAt, Truncated: d.Truncated}
		if len(d.Body) > 0 {
			v.Body = string(d.Body[:min(len(d.Body), maxShownBody)])
			v.Truncated = v.Truncated || len(d.Body) > maxShownBody
		}
		out = append(out, v)
	}
	return ok(w, r, out)
}

// Queue is the work waiting: deliveries not yet processed, and pending
// writes per backend (every exporting backend is listed, 0 when empty).
type Queue struct {
	Inbox  int            `json:"inbox"`
	Outbox map[string]int `json:"outbox"`
}

func (m *Management) queue(w http.ResponseWriter, r *http.Request) error {
	inbox, err := m.deps.Store.InboxDepth()
	if err != nil {
		return err
	}
	depths, err := m.deps.Store.OutboxDepths()
	if err != nil {
		return err
	}
	out := Queue{Inbox: inbox, Outbox: map[string]int{}}
	for _, b := range m.deps.Backends.Backends() {
		if b.Export {
			out.Outbox[b.Name] = 0
		}
	}
	for name, n := range depths {
		out.Outbox[name] = n
	}
	return ok(w, r, out)
}
