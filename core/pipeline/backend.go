package pipeline

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keepwatch/keepwatch/plugins"
)

// Backend is one configured backend as the pipeline runs it.
type Backend struct {
	Name   string
	Type   string
	Client plugins.Client
	Import bool
	Export bool
	// Libraries narrows imports and webhook events, by library name or id.
	Libraries plugins.LibraryFilter
	Webhook   WebhookFilter

	mu       sync.RWMutex
	desc     plugins.Description
	health   plugins.Health
	checked  time.Time
	checkErr error
}

// WebhookFilter says which webhook events of a backend are accepted.
type WebhookFilter struct {
	// MatchAccount drops events whose account is not the token user's.
	MatchAccount bool
	// MatchServer drops events from a server other than the backend's own.
	MatchServer bool
	// AllowServers, when not empty, accepts only events from these server
	// ids; DenyServers drops events from these. Deny wins.
	AllowServers []string
	DenyServers  []string
}

// Status is what the pipeline knows of a backend's server.
type Status struct {
	Name         string               `json:"name"`
	Type         string               `json:"type"`
	Import       bool                 `json:"import"`
	Export       bool                 `json:"export"`
	Capabilities []plugins.Capability `json:"capabilities"`
	Version      string               `json:"plugin_version,omitempty"`
	Reachable    bool                 `json:"reachable"`
	ServerID     string               `json:"server_id,omitempty"`
	ServerName   string               `json:"server_name,omitempty"`
	ServerVer    string               `json:"server_version,omitempty"`
	Detail       string               `json:"detail,omitempty"`
	CheckedAt    time.Time            `json:"checked_at,omitzero"`
}

// Check asks the plugin to describe itself and to reach its server, and
// keeps the answer (the server id is what match_server compares with).
func (b *Backend) Check(ctx context.Context) Status {
	desc, derr := b.Client.Describe(ctx)
	h, err := b.Client.CheckHealth(ctx)
	if derr != nil && err == nil {
		err = derr
	}
	b.mu.Lock()
	if derr == nil {
		b.desc = desc
	}
	if err == nil {
		b.health = h
	} else {
		b.health.Reachable, b.health.Detail = false, err.Error()
	}
	b.checked, b.checkErr = time.Now(), err
	b.mu.Unlock()
	return b.Status()
}

// Status returns the last Check's answer.
func (b *Backend) Status() Status {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return Status{Name: b.Name, Type: b.Type, Import: b.Import, Export: b.Export,
		Capabilities: b.desc.Capabilities, Version: b.desc.Version,
		Reachable: b.health.Reachable, ServerID: b.health.ServerID, ServerName: b.health.ServerName,
		ServerVer: b.health.ServerVersion, Detail: b.health.Detail, CheckedAt: b.checked}
}

// Has reports whether the backend's plugin has capability c.
func (b *Backend) Has(c plugins.Capability) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.desc.Has(c)
}

func (b *Backend) serverID() string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.health.ServerID
}

// serverRefused says why an event from server id is refused, or "".
func (b *Backend) serverRefused(id string) string {
	f := b.Webhook
	if id != "" && slices.Contains(f.DenyServers, id) {
		return "server " + id + " is in deny_servers"
	}
	if len(f.AllowServers) > 0 && !slices.Contains(f.AllowServers, id) {
		return "server " + id + " is not in allow_servers"
	}
	if f.MatchServer && id != "" {
		if own := b.serverID(); own != "" && !strings.EqualFold(own, id) {
			return "sent by server " + id + ", not by " + b.Name + " (" + own + "); set webhook.match_server: false to accept it"
		}
	}
	return ""
}

// libraryAllowed applies the backend's library filter to one observation.
// An observation without a library passes: the server did not say.
func (b *Backend) libraryAllowed(o plugins.Observation) bool {
	if o.LibraryID == "" && o.LibraryName == "" {
		return true
	}
	in := func(list []string) bool {
		for _, l := range list {
			if l == o.LibraryID || strings.EqualFold(l, o.LibraryName) {
				return true
			}
		}
		return false
	}
	if in(b.Libraries.Exclude) {
		return false
	}
	return len(b.Libraries.Include) == 0 || in(b.Libraries.Include)
}
