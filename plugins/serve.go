package plugins

import (
	"io"
	"os"
	"runtime/debug"
	"sync"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"
)

// LogLevelEnv is the environment variable through which the host tells a
// plugin its log level (a zerolog level name: trace, debug, info, warn,
// error). Lines below it are not even written.
const LogLevelEnv = "KEEPWATCH_PLUGIN_LOG_LEVEL"

// MaxMessageBytes bounds one gRPC message either way (a webhook body, an
// Apply batch, an import page).
const MaxMessageBytes = 64 << 20

// Serve runs the backend that factory builds as a keepwatch plugin and
// returns only when the host is done with it. A plugin's main calls it and
// nothing else. Run by hand, outside a host, it says so and exits 1.
func Serve(factory Factory) {
	// go-plugin replaces os.Stderr with a pipe of its own once serving; the
	// host reads logs from the real stderr, so hold on to it now.
	out := &lockedWriter{w: os.Stderr}
	level := zerolog.InfoLevel
	if l, err := zerolog.ParseLevel(os.Getenv(LogLevelEnv)); err == nil && l != zerolog.NoLevel {
		level = l
	}
	logger := NewPluginLogger(out, level)
	if os.Getenv("GOGC") == "" {
		// A plugin process holds a few megabytes of live data and streams
		// garbage through them (decoded server responses, encoded pages); at
		// the default GOGC=100 it collects many times per import and the
		// collector's share of the CPU makes imports markedly slower than
		// in the daemon's own, larger heap. A higher target costs a few
		// megabytes. The GOGC environment variable still wins.
		debug.SetGCPercent(400)
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: ServePluginSets(factory, Env{Logger: logger}),
		GRPCServer:       newGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       "go-plugin",
			Output:     out,
			JSONFormat: true,
			Level:      hclog.LevelFromString(level.String()),
		}),
	})
}

func newGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts, GRPCServerOptions()...)...)
}

// lockedWriter serialises whole-line writes from the backend's zerolog and
// go-plugin's hclog so their lines never interleave.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
