package fake

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// AccountKind says how an account relates to the server owner's plex.tv account.
type AccountKind int

const (
	// Owner is the server owner and Plex Home admin. PMS knows it as local account 1.
	Owner AccountKind = iota
	// HomeUser is a Plex Home member with a full plex.tv account (username, email).
	HomeUser
	// ManagedUser is a Plex Home managed user: no email, no username, usually restricted.
	ManagedUser
	// SharedUser is an invited friend outside the Home; its server token comes from
	// plex.tv's shared_servers list, not from a home-user switch.
	SharedUser
)

func (k AccountKind) String() string {
	switch k {
	case Owner:
		return "owner"
	case HomeUser:
		return "home"
	case ManagedUser:
		return "managed"
	case SharedUser:
		return "shared"
	}
	return fmt.Sprintf("AccountKind(%d)", int(k))
}

// User is one plex.tv account with access to the fake server.
type User struct {
	Kind AccountKind
	// ID is the plex.tv account id. PMS itself calls the owner 1 (/accounts,
	// /status/sessions); webhooks use 1 or this id for the owner (see
	// Options.OwnerWebhookAccountID) and this id for everyone else.
	ID int
	// UUID is the 16-hex plex.tv uuid used by /api/v2/home/users/{uuid}/switch.
	UUID     string
	Username string // empty for managed users
	Title    string // display name; managed users only have this
	Email    string // empty for managed users
	// PIN protects a Home user: switching to it needs ?pin=PIN (plex.tv answers 403
	// code 1041 otherwise, even for the admin since late 2024).
	PIN        string
	Restricted bool
	// PlexTVToken is the account's plex.tv token (what /switch returns for Home users).
	PlexTVToken string
	// ServerToken is the token PMS accepts for this user (the resources accessToken /
	// shared_servers accessToken). For the owner it defaults to PlexTVToken, as on a
	// real owned server.
	ServerToken string
	// Sections lists the library section keys shared with a SharedUser; nil means all.
	Sections []string
}

// SectionSpec describes one generated library section.
type SectionSpec struct {
	Key   string // section key, e.g. "1"
	Title string
	// Type is "movie" or "show" ("artist" makes an empty music section that a sync
	// tool must skip).
	Type string
	// Agent defaults to tv.plex.agents.movie / tv.plex.agents.series.
	Agent string
	// Movies (movie sections) or Shows × SeasonsPerShow × EpisodesPerSeason (show
	// sections) are generated.
	Movies            int
	Shows             int
	SeasonsPerShow    int
	EpisodesPerSeason int
}

// Webhook is a URL the fake POSTs Plex webhooks to, as configured on the plex.tv
// account of Account (a user ID; 0 means the owner). The owner's webhook receives
// every account's events ("user":false for the others); another account's webhook
// receives only its own.
type Webhook struct {
	URL     string
	Account int
}

// Options configure New. The zero value gives a small library (20 movies, 3 shows of
// 2 seasons × 5 episodes), five users (owner "admin", Home user "alice", managed
// "kid" with PIN 1234, managed "teen" without, shared "bob") and no webhooks.
type Options struct {
	// Seed drives every generated value (titles, GUIDs, dates, tokens). Two fakes
	// with the same Seed and sizes describe the same catalog.
	Seed int64

	// Movies, Shows, SeasonsPerShow and EpisodesPerSeason size the two default
	// sections ("1" Movies, "2" TV Shows). Ignored when Sections is set.
	Movies            int
	Shows             int
	SeasonsPerShow    int
	EpisodesPerSeason int
	// Sections replaces the two default sections.
	Sections []SectionSpec

	// LegacyFraction of the generated movies and shows carry legacy agent GUIDs
	// (com.plexapp.agents.imdb://tt…?lang=en, com.plexapp.agents.thetvdb://id/s/e?lang=en)
	// and no Guid[]; zero means the default 0.1, a negative value means none.
	LegacyFraction float64

	// RatingKeyBase is the first ratingKey (default 1000), so two fakes can differ.
	RatingKeyBase int

	// Users replaces the default accounts. Exactly one must be the Owner. Empty
	// tokens and uuids are generated.
	Users []User

	MachineIdentifier string // default: 40 hex from Seed
	FriendlyName      string // default "Fake Plex"
	Version           string // default "1.40.2.8395-c67dce28e"

	// Now is the server clock (scrobble's lastViewedAt, relative date filters,
	// webhooks). Default time.Now.
	Now func() time.Time

	// Webhooks receive media.* and library.new events.
	Webhooks []Webhook
	// OwnerWebhookAccountID is the Account.id webhooks give the owner: 1 (the default,
	// the official example) or the owner's plex.tv id (2025 captures). Both occur.
	OwnerWebhookAccountID int
	// WebhookClient sends webhooks; default a client with a 10 s timeout.
	WebhookClient *http.Client

	// ScrobbleThreshold is the fraction of the duration past which playback marks an
	// item watched (default 0.9, "played past the 90% mark").
	ScrobbleThreshold float64

	// NonAdminStatus is what the owner-only PMS endpoints (/status/sessions,
	// /accounts) answer to another user's token: PMS 1.47 says 403 for sessions,
	// 1.46 said 401. Default 403.
	NonAdminStatus int

	// Logger receives one debug line per request (never a token). Default: none.
	Logger *zerolog.Logger
}

func (o *Options) withDefaults() (Options, error) {
	out := *o
	if out.Now == nil {
		out.Now = time.Now
	}
	if out.FriendlyName == "" {
		out.FriendlyName = "Fake Plex"
	}
	if out.Version == "" {
		out.Version = DefaultVersion
	}
	if out.RatingKeyBase == 0 {
		out.RatingKeyBase = 1000
	}
	if out.RatingKeyBase < 0 {
		return out, fmt.Errorf("plex fake: options: RatingKeyBase %d is negative; use a positive first ratingKey or 0 for the default 1000", out.RatingKeyBase)
	}
	if out.ScrobbleThreshold == 0 {
		out.ScrobbleThreshold = 0.9
	}
	if out.ScrobbleThreshold < 0 || out.ScrobbleThreshold > 1 {
		return out, fmt.Errorf("plex fake: options: ScrobbleThreshold %v is outside 0..1; use e.g. 0.9", out.ScrobbleThreshold)
	}
	if out.NonAdminStatus == 0 {
		out.NonAdminStatus = http.StatusForbidden
	}
	switch {
	case out.LegacyFraction == 0:
		out.LegacyFraction = 0.1
	case out.LegacyFraction < 0:
		out.LegacyFraction = 0
	case out.LegacyFraction > 1:
		return out, fmt.Errorf("plex fake: options: LegacyFraction %v is above 1; use a fraction such as 0.1, or a negative value for none", out.LegacyFraction)
	}
	if out.WebhookClient == nil {
		out.WebhookClient = &http.Client{Timeout: 10 * time.Second}
	}
	rng := rand.New(rand.NewPCG(uint64(out.Seed), 0x706c6578)) // "plex"
	if out.MachineIdentifier == "" {
		out.MachineIdentifier = randHex(rng, 40)
	}

	if len(out.Sections) == 0 {
		if out.Movies == 0 && out.Shows == 0 && out.SeasonsPerShow == 0 && out.EpisodesPerSeason == 0 {
			out.Movies, out.Shows, out.SeasonsPerShow, out.EpisodesPerSeason = 20, 3, 2, 5
		}
		if out.Shows > 0 {
			if out.SeasonsPerShow == 0 {
				out.SeasonsPerShow = 1
			}
			if out.EpisodesPerSeason == 0 {
				out.EpisodesPerSeason = 1
			}
		}
		out.Sections = []SectionSpec{
			{Key: "1", Title: "Movies", Type: "movie", Movies: out.Movies},
			{Key: "2", Title: "TV Shows", Type: "show", Shows: out.Shows, SeasonsPerShow: out.SeasonsPerShow, EpisodesPerSeason: out.EpisodesPerSeason},
		}
	} else {
		out.Sections = append([]SectionSpec(nil), out.Sections...)
	}
	seen := map[string]bool{}
	for i := range out.Sections {
		sec := &out.Sections[i]
		if sec.Key == "" {
			sec.Key = fmt.Sprint(i + 1)
		}
		if seen[sec.Key] {
			return out, fmt.Errorf("plex fake: options: Sections[%d].Key %q is used twice; give each section its own key", i, sec.Key)
		}
		seen[sec.Key] = true
		switch sec.Type {
		case "movie":
			if sec.Agent == "" {
				sec.Agent = "tv.plex.agents.movie"
			}
			if sec.Title == "" {
				sec.Title = "Movies"
			}
		case "show":
			if sec.Agent == "" {
				sec.Agent = "tv.plex.agents.series"
			}
			if sec.Title == "" {
				sec.Title = "TV Shows"
			}
		case "artist":
			if sec.Agent == "" {
				sec.Agent = "tv.plex.agents.music"
			}
			if sec.Title == "" {
				sec.Title = "Music"
			}
		default:
			return out, fmt.Errorf("plex fake: options: Sections[%d].Type %q is not supported; use \"movie\", \"show\" or \"artist\"", i, sec.Type)
		}
		if sec.Movies < 0 || sec.Shows < 0 || sec.SeasonsPerShow < 0 || sec.EpisodesPerSeason < 0 {
			return out, fmt.Errorf("plex fake: options: Sections[%d] (%q) has a negative size; sizes count items and must be ≥ 0", i, sec.Key)
		}
	}
	for _, ptr := range []*int{&out.Movies, &out.Shows, &out.SeasonsPerShow, &out.EpisodesPerSeason} {
		if *ptr < 0 {
			return out, fmt.Errorf("plex fake: options: library sizes must be ≥ 0, got %d", *ptr)
		}
	}

	if len(out.Users) == 0 {
		out.Users = []User{
			{Kind: Owner, Username: "admin", Title: "admin", Email: "admin@example.com"},
			{Kind: HomeUser, Username: "alice", Title: "alice", Email: "alice@example.com"},
			{Kind: ManagedUser, Title: "kid", PIN: "1234", Restricted: true},
			{Kind: ManagedUser, Title: "teen"},
			{Kind: SharedUser, Username: "bob", Title: "bob", Email: "bob@example.com"},
		}
	} else {
		out.Users = append([]User(nil), out.Users...)
	}
	owners := 0
	ids := map[int]bool{}
	for i := range out.Users {
		u := &out.Users[i]
		if u.Kind < Owner || u.Kind > SharedUser {
			return out, fmt.Errorf("plex fake: options: Users[%d].Kind %d is unknown; use fake.Owner, HomeUser, ManagedUser or SharedUser", i, int(u.Kind))
		}
		if u.Kind == Owner {
			owners++
		}
		if u.ID == 0 {
			u.ID = 10_000_000 + int(rng.Uint32()%90_000_000)
		}
		if u.ID == 1 {
			return out, fmt.Errorf("plex fake: options: Users[%d].ID 1 is PMS's local id for the owner, not a plex.tv id; leave ID 0 to generate one", i)
		}
		if ids[u.ID] {
			return out, fmt.Errorf("plex fake: options: Users[%d].ID %d is used twice; plex.tv ids are unique", i, u.ID)
		}
		ids[u.ID] = true
		if u.UUID == "" {
			u.UUID = randHex(rng, 16)
		}
		if u.Title == "" {
			u.Title = u.Username
		}
		if u.Title == "" {
			return out, fmt.Errorf("plex fake: options: Users[%d] has neither Title nor Username; give it a name", i)
		}
		if u.Kind == ManagedUser && (u.Email != "" || u.Username != "") {
			return out, fmt.Errorf("plex fake: options: Users[%d] (%q) is a ManagedUser with an email or username; managed users have neither, use HomeUser", i, u.Title)
		}
		if u.PIN != "" && u.Kind != HomeUser && u.Kind != ManagedUser && u.Kind != Owner {
			return out, fmt.Errorf("plex fake: options: Users[%d] (%q) has a PIN but is %s; only Plex Home accounts have PINs", i, u.Title, u.Kind)
		}
		if u.PlexTVToken == "" {
			u.PlexTVToken = randToken(rng)
		}
		if u.ServerToken == "" {
			if u.Kind == Owner {
				u.ServerToken = u.PlexTVToken
			} else {
				u.ServerToken = randToken(rng)
			}
		}
		for _, k := range u.Sections {
			if !seen[k] {
				return out, fmt.Errorf("plex fake: options: Users[%d] (%q).Sections names section %q, which does not exist", i, u.Title, k)
			}
		}
	}
	if owners != 1 {
		return out, fmt.Errorf("plex fake: options: Users has %d owners; exactly one user must have Kind fake.Owner", owners)
	}
	if id := out.OwnerWebhookAccountID; id != 0 && id != 1 {
		ok := false
		for _, u := range out.Users {
			ok = ok || (u.Kind == Owner && u.ID == id)
		}
		if !ok {
			return out, fmt.Errorf("plex fake: options: OwnerWebhookAccountID %d is neither 1 nor the owner's plex.tv id; use 0/1 or Users' owner ID", id)
		}
	}
	for i, w := range out.Webhooks {
		if w.URL == "" {
			return out, fmt.Errorf("plex fake: options: Webhooks[%d].URL is empty", i)
		}
		if w.Account != 0 && !ids[w.Account] {
			return out, fmt.Errorf("plex fake: options: Webhooks[%d].Account %d is not a configured user id; use 0 for the owner", i, w.Account)
		}
	}
	return out, nil
}

const tokenAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// randToken returns a 20-character token shaped like a legacy plex.tv token.
func randToken(rng *rand.Rand) string {
	b := make([]byte, 20)
	for i := range b {
		b[i] = tokenAlphabet[rng.IntN(len(tokenAlphabet))]
	}
	return string(b)
}

func randHex(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[rng.IntN(16)]
	}
	return string(b)
}
