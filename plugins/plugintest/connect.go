package plugintest

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/keepwatch/keepwatch/plugins"
)

// Connect builds a backend with factory, serves it over gRPC on a bufconn
// and answers the client end, unconfigured. The backend logs to t. Both ends
// are closed when the test ends.
func Connect(t testing.TB, factory plugins.Factory) plugins.Client {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(plugins.GRPCServerOptions()...)
	p := &plugins.GRPCPluginV1{Factory: factory, Env: plugins.Env{Logger: TestLogger(t)}}
	if err := p.GRPCServer(nil, srv); err != nil {
		t.Fatalf("plugintest: register backend: %v", err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(plugins.MaxMessageBytes), grpc.MaxCallSendMsgSize(plugins.MaxMessageBytes)),
	)
	if err != nil {
		t.Fatalf("plugintest: dial bufconn: %v", err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		<-served
	})
	c, err := p.GRPCClient(context.Background(), nil, conn)
	if err != nil {
		t.Fatalf("plugintest: client: %v", err)
	}
	return c.(plugins.Client)
}

// TestLogger is a zerolog logger writing to t.Log until the test ends and
// discarding after, so a backend goroutine that logs late does not panic
// the test binary.
func TestLogger(t testing.TB) zerolog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return zerolog.New(zerolog.ConsoleWriter{Out: w, NoColor: true, TimeFormat: "15:04:05"}).
		With().Timestamp().Logger()
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
