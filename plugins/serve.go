package plugins

import (
	"io"
	"os"
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
	opts = append(opts, grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes))
	return grpc.NewServer(opts...)
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
