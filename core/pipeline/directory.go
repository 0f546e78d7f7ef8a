package pipeline

import (
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/keepwatch/keepwatch/plugins"
)

// UserSpec is one household user as configured: a name and, per backend, an
// account name or id.
type UserSpec struct {
	Name     string
	Accounts map[string]string
}

// Mapping is one user's account on one backend.
type Mapping struct {
	User    string `json:"user"`
	Backend string `json:"backend"`
	// AccountID and AccountName are the backend's; AccountID is empty when
	// the backend has not listed its accounts yet (the configured value is
	// then used as is).
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name"`
	// How the mapping was made: "config" or "auto".
	Source string `json:"source"`
}

// Unmapped is an account no user is mapped to: its events are ignored.
type Unmapped struct {
	Backend     string `json:"backend"`
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name"`
}

// Directory maps household users to accounts on backends. It is rebuilt when
// backends list their accounts (at start and on refresh) and is safe for
// concurrent use.
type Directory struct {
	users   []UserSpec
	autoMap bool

	mu        sync.RWMutex
	byUser    map[string]map[string]Mapping // user → backend → mapping
	byAccount map[string]map[string]string  // backend → account id and folded name → user
	unmapped  []Unmapped
}

// NewDirectory builds a directory from the configured users; Update feeds it
// each backend's accounts.
func NewDirectory(users []UserSpec, autoMap bool) *Directory {
	d := &Directory{users: users, autoMap: autoMap}
	d.rebuild(nil)
	return d
}

// fold is the form names are compared in: case and punctuation do not count
// ("Alice B." = "alice-b").
func fold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Rebuild recomputes every mapping from the accounts each backend listed
// (backend → accounts; a backend missing from the map has not answered yet).
func (d *Directory) Rebuild(accounts map[string][]plugins.Account) {
	d.rebuild(accounts)
}

func (d *Directory) rebuild(accounts map[string][]plugins.Account) {
	byUser := map[string]map[string]Mapping{}
	taken := map[string]map[string]bool{} // backend → account id taken
	put := func(m Mapping) {
		if byUser[m.User] == nil {
			byUser[m.User] = map[string]Mapping{}
		}
		byUser[m.User][m.Backend] = m
		if taken[m.Backend] == nil {
			taken[m.Backend] = map[string]bool{}
		}
		taken[m.Backend][m.AccountID] = true
	}
	find := func(backend, want string) (plugins.Account, bool) {
		for _, a := range accounts[backend] {
			if a.ID == want {
				return a, true
			}
		}
		for _, a := range accounts[backend] {
			if fold(a.Name) == fold(want) {
				return a, true
			}
		}
		return plugins.Account{}, false
	}
	// Explicit mappings win.
	for _, u := range d.users {
		for backend, want := range u.Accounts {
			m := Mapping{User: u.Name, Backend: backend, AccountID: want, AccountName: want, Source: "config"}
			if a, ok := find(backend, want); ok {
				m.AccountID, m.AccountName = a.ID, a.Name
			} else if _, listed := accounts[backend]; listed {
				continue // the backend answered and has no such account
			}
			put(m)
		}
	}
	if d.autoMap {
		mapped := func(user, backend string) bool { _, ok := byUser[user][backend]; return ok }
		d.autoMapInto(accounts, taken, mapped, put)
	}
	byAccount := map[string]map[string]string{}
	for user, ms := range byUser {
		for backend, m := range ms {
			if byAccount[backend] == nil {
				byAccount[backend] = map[string]string{}
			}
			byAccount[backend]["id:"+m.AccountID] = user
			byAccount[backend]["name:"+fold(m.AccountName)] = user
		}
	}
	var unmapped []Unmapped
	for backend, accs := range accounts {
		for _, a := range accs {
			if _, ok := byAccount[backend]["id:"+a.ID]; !ok {
				unmapped = append(unmapped, Unmapped{Backend: backend, AccountID: a.ID, AccountName: a.Name})
			}
		}
	}
	slices.SortFunc(unmapped, func(a, b Unmapped) int {
		return strings.Compare(a.Backend+"\x00"+a.AccountName, b.Backend+"\x00"+b.AccountName)
	})
	d.mu.Lock()
	d.byUser, d.byAccount, d.unmapped = byUser, byAccount, unmapped
	d.mu.Unlock()
}

// autoMapInto maps accounts not explicitly mapped by name: to a configured
// user of that name, or, when the same name is on two or more backends, to a
// new user named after the account. An account alone on one backend with no
// user of its name stays unmapped: there is nothing to sync it with.
func (d *Directory) autoMapInto(accounts map[string][]plugins.Account, taken map[string]map[string]bool,
	mapped func(user, backend string) bool, put func(Mapping)) {
	type acct struct {
		backend string
		a       plugins.Account
	}
	groups := map[string][]acct{}
	var order []string
	for backend, accs := range accounts {
		for _, a := range accs {
			if taken[backend][a.ID] || fold(a.Name) == "" {
				continue
			}
			k := fold(a.Name)
			if groups[k] == nil {
				order = append(order, k)
			}
			groups[k] = append(groups[k], acct{backend, a})
		}
	}
	slices.Sort(order)
	configured := map[string]string{}
	for _, u := range d.users {
		configured[fold(u.Name)] = u.Name
	}
	for _, k := range order {
		g := groups[k]
		user, ok := configured[k]
		if !ok {
			backends := map[string]bool{}
			for _, x := range g {
				backends[x.backend] = true
			}
			if len(backends) < 2 {
				continue
			}
			user = k
		}
		seen := map[string]bool{}
		for _, x := range g {
			if seen[x.backend] || mapped(user, x.backend) {
				continue // explicit mappings win; two accounts of one name on one backend: first wins
			}
			seen[x.backend] = true
			put(Mapping{User: user, Backend: x.backend, AccountID: x.a.ID, AccountName: x.a.Name, Source: "auto"})
		}
	}
}

// Account returns user's account on backend.
func (d *Directory) Account(user, backend string) (Mapping, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	m, ok := d.byUser[user][backend]
	return m, ok
}

// AccountID is the engine's view: the id to write with.
func (d *Directory) AccountID(user, backend string) (string, bool) {
	m, ok := d.Account(user, backend)
	return m.AccountID, ok
}

// UserOf returns the user an account on backend belongs to, by id first,
// then by name.
func (d *Directory) UserOf(backend, accountID, accountName string) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if accountID != "" {
		if u, ok := d.byAccount[backend]["id:"+accountID]; ok {
			return u, true
		}
	}
	if f := fold(accountName); f != "" {
		if u, ok := d.byAccount[backend]["name:"+f]; ok {
			return u, true
		}
	}
	return "", false
}

// Mappings returns every mapping, sorted by user and backend.
func (d *Directory) Mappings() []Mapping {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []Mapping
	for _, ms := range d.byUser {
		for _, m := range ms {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b Mapping) int { return strings.Compare(a.User+"\x00"+a.Backend, b.User+"\x00"+b.Backend) })
	return out
}

// Users returns the users' names, sorted.
func (d *Directory) Users() []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	seen := map[string]bool{}
	for _, u := range d.users {
		seen[u.Name] = true
	}
	for u := range d.byUser {
		seen[u] = true
	}
	out := make([]string, 0, len(seen))
	for u := range seen {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// UsersOn returns the users with an account on backend, sorted.
func (d *Directory) UsersOn(backend string) []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []string
	for u, ms := range d.byUser {
		if _, ok := ms[backend]; ok {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

// Unmapped returns the accounts no user is mapped to.
func (d *Directory) Unmapped() []Unmapped {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return slices.Clone(d.unmapped)
}

// Matches reports whether an event's account is user's account on backend,
// by id, or by name when the event carries no id.
func (d *Directory) Matches(user, backend, accountID, accountName string) bool {
	m, ok := d.Account(user, backend)
	if !ok {
		return false
	}
	if accountID != "" && m.AccountID != "" {
		return accountID == m.AccountID
	}
	return fold(accountName) != "" && fold(accountName) == fold(m.AccountName)
}
