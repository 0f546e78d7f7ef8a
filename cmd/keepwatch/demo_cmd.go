package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/keepwatch/keepwatch/api"
	jellyfake "github.com/keepwatch/keepwatch/backends/jellyfin/fake"
	plexfake "github.com/keepwatch/keepwatch/backends/plex/fake"
	"github.com/keepwatch/keepwatch/config"
	"github.com/keepwatch/keepwatch/core/store"
	"github.com/keepwatch/keepwatch/plugins/guids"
	"github.com/keepwatch/keepwatch/tasks"
)

// The demo's household and library: alice, on both servers, and a few
// movies of which she watched different ones on each.
const (
	demoUser     = "alice"
	demoMovies   = 8
	demoSeeded   = 4 // movies 0-3 start with a play on one side; simulated plays start after them
	demoSeed     = 42
	demoPlex     = "plex"
	demoJellyfin = "jellyfin"
	// demoResume is how far alice got into the movie she left on Jellyfin.
	demoResume = 20 * time.Minute
	// demoWait bounds every wait for keepwatch: a guard against a demo
	// that hangs, not a measure of speed.
	demoWait = 60 * time.Second
)

func init() {
	moreCommands = append(moreCommands, newDemoCmd)
}

type demoOptions struct {
	dir       string
	listen    string
	once      bool
	playEvery time.Duration
}

func newDemoCmd(g *globals) *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "See keepwatch keep a fake Plex and a fake Jellyfin in step, with no servers of your own",
		Long: "Start a fake Plex and a fake Jellyfin on loopback, with a few movies and one household\n" +
			"member, alice, who has watched different ones on each; write a config for them and run the\n" +
			"daemon (the same code as `keepwatch serve`) on --listen, with both fakes' webhooks pointing\n" +
			"at it. The first import makes both servers agree; then every --play-every alice finishes a\n" +
			"movie on one server (or unmarks one) and the demo shows how soon the other follows.\n" +
			"Ctrl-C stops it and removes what it wrote, unless --dir was given.\n\n" +
			"--once: run the first import and one simulated play, print the state, and exit.",
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			if o.playEvery < 0 {
				return usageError("--play-every %s is negative; give a duration like 20s, or 0 for no simulated plays", o.playEvery)
			}
			if !cmd.Flags().Changed("log-level") {
				// The daemon's info lines would bury the demo's own output.
				g.log = g.log.Level(zerolog.WarnLevel)
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			return runDemo(ctx, g, o)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "", "write the config and data here and keep them (default: a temporary directory, removed at the end)")
	f.StringVar(&o.listen, "listen", "127.0.0.1:8686", "address keepwatch listens on")
	f.BoolVar(&o.once, "once", false, "run the first import and one simulated play, print the state, and exit")
	f.DurationVar(&o.playEvery, "play-every", 20*time.Second, "how often alice plays something (0: never)")
	return cmd
}

// runDemo sets the demo up, runs the daemon and drives the fakes until ctx
// ends (or, with --once, until the driving is done), then cleans up.
func runDemo(ctx context.Context, g *globals, o demoOptions) error {
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w (pass --listen with a free address, like 127.0.0.1:8687)", o.listen, err)
	}
	ln.Close() // newApp listens for itself
	base, err := listenURL(o.listen)
	if err != nil {
		return err
	}

	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "keepwatch-demo-"); err != nil {
			return fmt.Errorf("demo: create a directory: %w", err)
		}
		defer os.RemoveAll(dir)
	} else {
		if dir, err = filepath.Abs(dir); err == nil {
			err = os.MkdirAll(dir, 0o700)
		}
		if err != nil {
			return fmt.Errorf("--dir %s: %w", o.dir, err)
		}
	}
	d, err := newDemo(dir, o.listen, base)
	if err != nil {
		return err
	}
	defer d.close()
	cfg, err := config.Load(d.configPath)
	if err != nil {
		return fmt.Errorf("demo: the generated config %s: %w", d.configPath, err)
	}

	daemonCtx, stopDaemon := context.WithCancel(ctx)
	defer stopDaemon()
	driveCtx, stopDriving := context.WithCancel(ctx)
	defer stopDriving()
	served := make(chan error, 1)
	go func() {
		served <- serve(daemonCtx, cfg, g)
		stopDriving() // a daemon that stopped, or never started, ends the demo
	}()
	driveErr := d.drive(driveCtx, g, o)
	stopDaemon()
	serveErr := <-served
	switch {
	case serveErr != nil:
		return serveErr // the driving only saw its context end
	case driveErr != nil && ctx.Err() == nil:
		return driveErr
	}
	if o.dir == "" {
		fmt.Fprintf(g.stdout, "\ndemo stopped; removed %s\n", dir)
	} else {
		fmt.Fprintf(g.stdout, "\ndemo stopped; config and data kept in %s\n", dir)
	}
	return nil
}

// demo is the fake servers and what the demo knows about them.
type demo struct {
	configPath string
	listen     string // --listen
	base       string // keepwatch's URL
	apiKey     string
	plex       *plexfake.Server
	jelly      *jellyfake.Server
	plexURL    string
	jellyURL   string
	servers    []*http.Server
	movies     []demoMovie
	plays      int // simulated so far
}

// demoMovie is one movie as each fake knows it.
type demoMovie struct {
	title   string // "Title (Year)", Plex's
	plexKey string
	jellyID string
}

// newDemo builds and serves the fakes, seeds alice's plays and writes the
// config into dir.
func newDemo(dir, listen, base string) (d *demo, err error) {
	dataDir := filepath.Join(dir, "data")
	tokens, err := demoWebhookTokens(dataDir)
	if err != nil {
		return nil, err
	}
	d = &demo{configPath: filepath.Join(dir, "keepwatch.yaml"), listen: listen, base: base}
	if d.apiKey, err = api.NewToken(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			d.close()
		}
	}()

	d.plex, err = plexfake.New(plexfake.Options{Seed: demoSeed, Movies: demoMovies, LegacyFraction: -1, FriendlyName: "Demo Plex",
		Users: []plexfake.User{{Kind: plexfake.Owner, Username: demoUser, Title: demoUser, Email: demoUser + "@example.com"}}})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := d.plex.AddWebhook(plexfake.Webhook{URL: api.WebhookURL(base, tokens[demoPlex])}); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	d.jelly, err = jellyfake.New(jellyfake.Options{Seed: demoSeed, ServerName: "Demo Jellyfin",
		Users:    []jellyfake.User{{Name: demoUser, Admin: true}},
		Webhooks: []jellyfake.WebhookTarget{{URL: api.WebhookURL(base, tokens[demoJellyfin]), Events: demoJellyfinEvents}}})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := d.sameMovies(); err != nil {
		return nil, err
	}
	if err := d.seedPlays(); err != nil {
		return nil, err
	}
	if d.plexURL, err = d.serveFake(d.plex); err != nil {
		return nil, err
	}
	if d.jellyURL, err = d.serveFake(d.jelly); err != nil {
		return nil, err
	}
	if err := d.writeConfig(dataDir); err != nil {
		return nil, err
	}
	return d, nil
}

// demoWebhookTokens issues the backend-wide webhook tokens before the
// daemon starts, as it would itself: the Jellyfin fake takes its webhook
// URLs when it is built, and the daemon keeps tokens that exist.
func demoWebhookTokens(dataDir string) (map[string]string, error) {
	st, err := store.Open(filepath.Join(dataDir, store.FileName), store.Options{})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	defer st.Close()
	pairs := []api.TokenPair{{User: api.AllUsers, Backend: demoPlex}, {User: api.AllUsers, Backend: demoJellyfin}}
	if err := api.EnsureTokens(st, pairs, time.Now()); err != nil {
		return nil, fmt.Errorf("demo: webhook tokens: %w", err)
	}
	all, err := st.ListTokens()
	if err != nil {
		return nil, fmt.Errorf("demo: webhook tokens: %w", err)
	}
	out := map[string]string{}
	for _, t := range all {
		if t.User == api.AllUsers {
			out[t.Backend] = t.Token
		}
	}
	return out, nil
}

// jellyfinProviderKeys spells normalised GUID sources as Jellyfin's
// ProviderIds keys.
var jellyfinProviderKeys = map[string]string{"imdb": "Imdb", "tmdb": "Tmdb", "tvdb": "Tvdb"}

// demoJellyfinEvents are the notification types the Jellyfin fake's webhook
// sends, as a household would tick them in the Webhook plugin: the
// library scan that adds the demo's movies is not keepwatch's business.
var demoJellyfinEvents = []string{"PlaybackStart", "PlaybackProgress", "PlaybackStop", "UserDataSaved"}

// sameMovies adds every Plex movie to the Jellyfin fake with its title,
// year, length and external ids: the same films, as a household's servers
// over one media folder hold.
func (d *demo) sameMovies() error {
	for _, it := range d.plex.Items("movie") {
		ids := map[string]string{}
		for _, raw := range it.GUIDs {
			g, err := guids.Parse(raw)
			if err != nil {
				return fmt.Errorf("demo: Plex movie %s: %w", it.RatingKey, err)
			}
			source, id, _ := strings.Cut(g, ":")
			if key, ok := jellyfinProviderKeys[source]; ok {
				ids[key] = id
			}
		}
		jf, err := d.jelly.AddItem(jellyfake.NewItem{Type: "Movie", Name: it.Title, Year: it.Year,
			RunTime: time.Duration(it.DurationMS) * time.Millisecond, ProviderIDs: ids})
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		d.movies = append(d.movies, demoMovie{title: fmt.Sprintf("%s (%d)", it.Title, it.Year), plexKey: it.RatingKey, jellyID: jf.ID})
	}
	if len(d.movies) != demoMovies {
		return fmt.Errorf("demo: the Plex fake holds %d movies, want %d", len(d.movies), demoMovies)
	}
	return nil
}

// seedPlays gives alice plays on one side only, without webhooks: what
// keepwatch finds when it is first installed.
func (d *demo) seedPlays() error {
	now := time.Now()
	return errors.Join(
		d.plex.MarkWatched(demoUser, d.movies[0].plexKey, now.Add(-26*time.Hour)),
		d.plex.MarkWatched(demoUser, d.movies[1].plexKey, now.Add(-72*time.Hour)),
		d.jelly.SetUserData(demoUser, d.movies[2].jellyID, jellyfake.UserData{Played: true, PlayCount: 1, LastPlayedDate: now.Add(-5 * time.Hour)}),
		d.jelly.SetUserData(demoUser, d.movies[3].jellyID, jellyfake.UserData{PlaybackPositionTicks: int64(demoResume / 100), LastPlayedDate: now.Add(-time.Hour)}),
	)
}

// serveFake serves h on a free loopback port and returns its URL.
func (d *demo) serveFake(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("demo: listen on loopback: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed at close
	d.servers = append(d.servers, srv)
	return "http://" + ln.Addr().String(), nil
}

// writeConfig writes the config `keepwatch serve` would need for the
// fakes: both backends, alice mapped on each, the default tasks but the
// scheduled import, which would also run when the daemon starts: the demo
// runs its first import itself, a full one, so that a kept --dir with fresh
// fakes still reads every seeded play.
func (d *demo) writeConfig(dataDir string) error {
	type (
		backend struct {
			Name    string            `yaml:"name"`
			Type    string            `yaml:"type"`
			URL     string            `yaml:"url"`
			Token   string            `yaml:"token"`
			Options map[string]string `yaml:"options,omitempty"`
		}
		user struct {
			Name     string            `yaml:"name"`
			Accounts map[string]string `yaml:"accounts"`
		}
	)
	var doc struct {
		Server struct {
			Listen    string `yaml:"listen"`
			PublicURL string `yaml:"public_url"`
			DataDir   string `yaml:"data_dir"`
			APIKey    string `yaml:"api_key"`
		} `yaml:"server"`
		Backends []backend `yaml:"backends"`
		Users    struct {
			AutoMap bool   `yaml:"auto_map"`
			List    []user `yaml:"list"`
		} `yaml:"users"`
		Tasks struct {
			Import struct {
				Schedule string `yaml:"schedule"`
				Enabled  bool   `yaml:"enabled"`
			} `yaml:"import"`
		} `yaml:"tasks"`
	}
	doc.Server.Listen, doc.Server.PublicURL = d.listen, d.base
	doc.Server.DataDir, doc.Server.APIKey = dataDir, d.apiKey
	doc.Backends = []backend{
		{Name: demoPlex, Type: "plex", URL: d.plexURL, Token: d.plex.Owner().PlexTVToken, Options: map[string]string{"plextv_url": d.plexURL}},
		{Name: demoJellyfin, Type: "jellyfin", URL: d.jellyURL, Token: d.jelly.APIKey()},
	}
	doc.Users.List = []user{{Name: demoUser, Accounts: map[string]string{demoPlex: demoUser, demoJellyfin: demoUser}}}
	doc.Tasks.Import.Schedule = "@every 1h"
	var body bytes.Buffer
	body.WriteString("# Written by keepwatch demo for its fake servers; rewritten at every run.\n")
	enc := yaml.NewEncoder(&body)
	enc.SetIndent(2)
	err := enc.Encode(&doc)
	if err == nil {
		err = os.WriteFile(d.configPath, body.Bytes(), 0o600)
	}
	if err != nil {
		return fmt.Errorf("demo: write the config %s: %w", d.configPath, err)
	}
	return nil
}

// close sends the Jellyfin fake's last webhooks and stops both fakes.
func (d *demo) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if d.jelly != nil {
		_ = d.jelly.FlushWebhooks(ctx)
	}
	for _, s := range d.servers {
		_ = s.Shutdown(ctx)
	}
}

// drive tells what was set up, waits for the daemon, runs the first import
// and then plays: once with --once, else every o.playEvery until ctx ends.
func (d *demo) drive(ctx context.Context, g *globals, o demoOptions) error {
	w := g.stdout
	c := &apiClient{base: d.base, key: d.apiKey, http: &http.Client{Timeout: 30 * time.Second}}
	m := d.movies
	fmt.Fprintf(w, "keepwatch demo: %s watches movies on two servers, both fakes on this machine\n", demoUser)
	line := func(name, url, what string) { fmt.Fprintf(w, "  %-16s %-23s %s\n", name, url, what) }
	line("Plex (fake)", d.plexURL, fmt.Sprintf("she watched %s and %s here", m[0].title, m[1].title))
	line("Jellyfin (fake)", d.jellyURL, fmt.Sprintf("she watched %s here, and is %s into %s", m[2].title, demoResume, m[3].title))
	line("keepwatch", d.base, "config "+d.configPath)
	fmt.Fprintln(w)

	if err := d.waitReady(ctx, c); err != nil {
		return err
	}
	run, err := d.importNow(ctx, c)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "first import (run %d): %s\n", run.ID, countsLine(run))
	if err := waitUntil(ctx, "Plex and Jellyfin to agree after the first import", 10*time.Millisecond, func() bool { return len(d.differences()) == 0 }); err != nil {
		return fmt.Errorf("%w; they differ on %s", err, strings.Join(d.differences(), ", "))
	}
	if !o.once {
		fmt.Fprintln(w, "both servers agree now:")
		d.printServers(w)
		d.printTry(w, o)
	}
	fmt.Fprintln(w, "each play below: what alice did, and how soon keepwatch had the other server follow (webhook to write)")
	latency, err := d.play(ctx, w)
	if err != nil {
		return err
	}
	if o.once {
		return d.printResult(ctx, g, latency)
	}
	if o.playEvery == 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	tick := time.NewTicker(o.playEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if _, err := d.play(ctx, w); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(w, "  %v\n", err) // one slow play does not end the demo
		}
	}
}

// waitReady waits until the daemon answers and both backends have listed
// their accounts with alice's among them: until then an import would find
// no one to import.
func (d *demo) waitReady(ctx context.Context, c *apiClient) error {
	err := waitUntil(ctx, "keepwatch to start and find alice's accounts", 50*time.Millisecond, func() bool {
		for _, b := range []string{demoPlex, demoJellyfin} {
			var accounts []api.Account
			if _, err := c.do(ctx, http.MethodGet, "/backends/"+b+"/accounts", nil, nil, &accounts); err != nil {
				return false
			}
			if !slices.ContainsFunc(accounts, func(a api.Account) bool { return a.User == demoUser }) {
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("%w (run again with --log-level info to see what the daemon did)", err)
	}
	return nil
}

// importNow runs a full import through the management API, as `keepwatch
// import --full` does, and returns the finished run. Full, because the
// seeded plays are older than a previous demo's imports in a kept --dir.
func (d *demo) importNow(ctx context.Context, c *apiClient) (*store.Run, error) {
	var started api.RunStarted
	if _, err := c.do(ctx, http.MethodPost, "/tasks/"+tasks.TaskImportFull+"/run", nil, api.RunRequest{Full: true}, &started); err != nil {
		return nil, fmt.Errorf("demo: start the first import: %w", err)
	}
	run, _, err := c.waitRun(ctx, started.RunID, io.Discard)
	if err != nil {
		return nil, fmt.Errorf("demo: first import: %w", err)
	}
	if run.Status != store.RunOK {
		return nil, fmt.Errorf("demo: first import (run %d) ended %s: %s", run.ID, run.Status, orDash(run.Error))
	}
	return run, nil
}

// play has alice do one thing on one server, waits for keepwatch to carry
// it to the other and returns how long that took, from the server's webhook
// to the other server showing the change. In turn she finishes the next
// movie on Plex (a media.scrobble webhook) or marks it played in Jellyfin's
// web client (a UserDataSaved webhook); a movie watched already is unmarked
// on Jellyfin.
func (d *demo) play(ctx context.Context, w io.Writer) (time.Duration, error) {
	m := d.movies[(demoSeeded+d.plays)%len(d.movies)]
	onPlex := d.plays%2 == 0
	d.plays++
	watched := d.plexWatched(m)
	var did, followed string
	var cond func() bool
	start := time.Now()
	var err error
	switch {
	case watched:
		did, followed = "marked "+m.title+" unplayed on Jellyfin", "unwatched on Plex"
		err = d.jelly.TogglePlayed(demoUser, m.jellyID, false)
		cond = func() bool { return !d.plexWatched(m) }
	case onPlex:
		did, followed = "finished "+m.title+" on Plex", "watched on Jellyfin"
		err = d.plex.Scrobble(ctx, demoUser, m.plexKey)
		cond = func() bool { return d.jellyWatched(m) }
	default:
		did, followed = "marked "+m.title+" played on Jellyfin", "watched on Plex"
		err = d.jelly.TogglePlayed(demoUser, m.jellyID, true)
		cond = func() bool { return d.plexWatched(m) }
	}
	if err != nil {
		return 0, fmt.Errorf("demo: %s %s: %w", demoUser, did, err)
	}
	if err := waitUntil(ctx, "keepwatch to mark "+m.title+" "+followed, time.Millisecond, cond); err != nil {
		return 0, err
	}
	latency := time.Since(start).Round(time.Millisecond)
	fmt.Fprintf(w, "%s %s → %s %s later\n", demoUser, did, followed, latency)
	return latency, nil
}

// waitUntil polls cond every so often until it holds, for at most
// demoWait.
func waitUntil(ctx context.Context, what string, every time.Duration, cond func() bool) error {
	deadline := time.NewTimer(demoWait)
	defer deadline.Stop()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("demo: waited %s for %s", demoWait, what)
		case <-tick.C:
		}
	}
	return nil
}

func (d *demo) plexWatched(m demoMovie) bool {
	st, err := d.plex.State(demoUser, m.plexKey)
	return err == nil && st.ViewCount > 0
}

func (d *demo) jellyWatched(m demoMovie) bool {
	ud, err := d.jelly.UserData(demoUser, m.jellyID)
	return err == nil && ud.Played
}

// sides describes alice's state of m on each server: "watched", "at 20m0s"
// or "-".
func (d *demo) sides(m demoMovie) (plex, jelly string) {
	describe := func(watched bool, at time.Duration) string {
		switch {
		case watched:
			return "watched"
		case at >= time.Second:
			return "at " + at.Truncate(time.Second).String()
		}
		return "-"
	}
	if st, err := d.plex.State(demoUser, m.plexKey); err == nil {
		plex = describe(st.ViewCount > 0, time.Duration(st.ViewOffsetMS)*time.Millisecond)
	}
	if ud, err := d.jelly.UserData(demoUser, m.jellyID); err == nil {
		jelly = describe(ud.Played, time.Duration(ud.PlaybackPositionTicks)*100)
	}
	return plex, jelly
}

// differences names the movies the two servers disagree on.
func (d *demo) differences() []string {
	var out []string
	for _, m := range d.movies {
		if p, j := d.sides(m); p != j {
			out = append(out, fmt.Sprintf("%s (Plex %s, Jellyfin %s)", m.title, p, j))
		}
	}
	return out
}

// printServers prints alice's state of every movie on both servers, and
// whether they agree.
func (d *demo) printServers(w io.Writer) bool {
	tw := newTable(w)
	row(tw, "  MOVIE", "PLEX", "JELLYFIN")
	watched, started := 0, 0
	for _, m := range d.movies {
		p, j := d.sides(m)
		row(tw, "  "+m.title, p, j)
		switch {
		case p == "watched":
			watched++
		case p != "-":
			started++
		}
	}
	tw.Flush()
	if diff := d.differences(); len(diff) > 0 {
		fmt.Fprintf(w, "Plex and Jellyfin differ on %s\n", strings.Join(diff, ", "))
		return false
	}
	fmt.Fprintf(w, "Plex and Jellyfin agree on all %d movies: %s has watched %d and started %d\n", len(d.movies), demoUser, watched, started)
	return true
}

// printTry says what to try while the demo runs.
func (d *demo) printTry(w io.Writer, o demoOptions) {
	m := d.movies[demoMovies-1]
	fmt.Fprintf(w, `
Try, in another terminal:
  keepwatch --config %[1]s state list
  keepwatch --config %[1]s runs list
  keepwatch state list --addr %[2]s --api-key %[3]s
and mark %[8]s played on the Jellyfin fake through its API, as a Jellyfin app would:
  curl -X POST -H 'Authorization: MediaBrowser Token="%[4]s"' %[5]s/Users/%[6]s/PlayedItems/%[7]s
then see Plex follow in 'keepwatch state list'.
`, d.configPath, d.base, d.apiKey, d.jelly.APIKey(), d.jellyURL, d.jelly.UserID(demoUser), m.jellyID, m.title)
	if o.playEvery > 0 {
		fmt.Fprintf(w, "Every %s %s plays something on one of the servers. Ctrl-C stops the demo.\n\n", o.playEvery, demoUser)
	} else {
		fmt.Fprintln(w, "Ctrl-C stops the demo.")
	}
}

// printResult ends --once: keepwatch's records as `keepwatch state list`
// prints them, both servers side by side, and the play's latency.
func (d *demo) printResult(ctx context.Context, g *globals, latency time.Duration) error {
	fmt.Fprintf(g.stdout, "\nkeepwatch's records (keepwatch state list):\n")
	if code := run(ctx, []string{"state", "list", "--addr", d.base, "--api-key", d.apiKey}, g.getenv, g.stdout, g.stderr); code != exitOK {
		return fmt.Errorf("demo: state list exited %d", code)
	}
	fmt.Fprintf(g.stdout, "\n%s's movies on each server:\n", demoUser)
	if !d.printServers(g.stdout) {
		return errors.New("demo: Plex and Jellyfin do not agree")
	}
	fmt.Fprintf(g.stdout, "latency from Plex's webhook to keepwatch's write on Jellyfin: %s\n", latency)
	return nil
}
