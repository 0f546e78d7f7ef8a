package host_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	plugin "github.com/hashicorp/go-plugin"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"

	"github.com/keepwatch/keepwatch/plugins"
	"github.com/keepwatch/keepwatch/plugins/internal/memback"
)

// The test binary doubles as the keepwatch binary: run as
// `<test binary> plugin serve <type>` it serves one of these built-in
// backends, exactly as keepwatch re-executes itself.
var testBuiltins = map[string]plugins.Factory{
	memback.Type: memback.New,
	"crashy":     newCrashy,
	"chatty":     newChatty,
	"exiter":     newExiter,
}

// testServers serve memback under other protocol versions than
// plugins.Serve does, as a plugin built with an older or newer SDK would.
// They are run as `<test binary> plugin serve <name>`, like the built-ins.
var testServers = map[string]func(){
	"v2only": func() { serveVersions(2) },
	"v1and2": func() { serveVersions(1, 2) },
}

func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		if serve, ok := testServers[os.Args[3]]; ok {
			serve()
			os.Exit(0)
		}
		f, ok := testBuiltins[os.Args[3]]
		if !ok {
			fmt.Fprintf(os.Stderr, "no built-in backend %q\n", os.Args[3])
			os.Exit(2)
		}
		plugins.Serve(f)
		os.Exit(0)
	}
	// Race-enabled plugin processes would sleep a second at exit to let
	// late race reports out; these tests start dozens of them.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	os.Exit(m.Run())
}

func builtinTypes() []string {
	var out []string
	for t := range testBuiltins {
		out = append(out, t)
	}
	return out
}

// crashy is memback whose process exits after emitting the first import
// page: a plugin dying with a call in flight.
type crashy struct{ *memback.Backend }

func newCrashy(env plugins.Env) plugins.Backend {
	return crashy{memback.New(env).(*memback.Backend)}
}

func (c crashy) Describe(ctx context.Context) (plugins.Description, error) {
	d, err := c.Backend.Describe(ctx)
	d.Type = "crashy"
	return d, err
}

func (c crashy) Import(ctx context.Context, req plugins.ImportRequest, emit func([]plugins.Observation) error) error {
	return c.Backend.Import(ctx, req, func(page []plugins.Observation) error {
		if err := emit(page); err != nil {
			return err
		}
		os.Exit(3)
		return nil
	})
}

// chatty logs one line per level when configured, for the log bridge test.
type chatty struct{ *memback.Backend }

func newChatty(env plugins.Env) plugins.Backend {
	b := chatty{memback.New(env).(*memback.Backend)}
	log := env.Logger.With().Str("component", "chatty").Logger()
	chattyLog = func() {
		log.Trace().Msg("trace line")
		log.Debug().Msg("debug line")
		log.Info().Int("n", 7).Msg("info line")
		log.Warn().Str("key", "value").Msg("warn line")
		log.Error().Err(fmt.Errorf("boom")).Msg("error line")
	}
	return b
}

var chattyLog func()

func (c chatty) Describe(ctx context.Context) (plugins.Description, error) {
	d, err := c.Backend.Describe(ctx)
	d.Type = "chatty"
	return d, err
}

func (c chatty) Configure(ctx context.Context, cfg plugins.Config) error {
	chattyLog()
	return c.Backend.Configure(ctx, cfg)
}

// exiter's process exits while its backend is built, before the handshake:
// a plugin that crashes at every start.
func newExiter(plugins.Env) plugins.Backend {
	os.Exit(3)
	return nil
}

// serveVersions serves memback under each of versions; go-plugin picks the
// highest the host also offers, or the lowest when it offers none of them.
func serveVersions(versions ...int) {
	env := plugins.Env{Logger: zerolog.Nop()}
	sets := map[int]plugin.PluginSet{}
	for _, v := range versions {
		sets[v] = plugin.PluginSet{plugins.PluginName: &plugins.GRPCPluginV1{Factory: memback.New, Env: env}}
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  plugins.Handshake,
		VersionedPlugins: sets,
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, plugins.GRPCServerOptions()...)...)
		},
	})
}
