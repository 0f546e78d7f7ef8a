package plugins

import (
	"context"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/keepwatch/keepwatch/plugins/internal/backendv1"
)

// ProtocolVersion is the newest plugin protocol this SDK speaks. Host and
// plugin negotiate the highest version both offer (VersionedPlugins), so a
// version 2 can be served beside version 1 while plugins catch up.
const ProtocolVersion = 1

// PluginName is the name the backend is dispensed under in a plugin set.
const PluginName = "backend"

// Handshake is shared by host and plugins. The cookie is not a security
// measure: it makes a plugin executable run by hand say so instead of
// waiting for a host.
var Handshake = plugin.HandshakeConfig{
	// ProtocolVersion is unused: VersionedPlugins negotiate the version.
	MagicCookieKey:   "KEEPWATCH_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "1f7c8a3e-keepwatch-backend-plugin",
}

// HostPluginSets is the VersionedPlugins a host offers when it starts a
// plugin.
func HostPluginSets() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		1: {PluginName: &GRPCPluginV1{}},
	}
}

// ServePluginSets is the VersionedPlugins a plugin process serves.
func ServePluginSets(factory Factory, env Env) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		1: {PluginName: &GRPCPluginV1{Factory: factory, Env: env}},
	}
}

// GRPCPluginV1 is protocol version 1 as a go-plugin plugin. The host uses it
// with a nil Factory; a plugin process with the backend's Factory. It is
// exported so that hosts and harnesses other than plugins/host (for example
// plugintest's in-process connection) can speak the same wire. A gRPC server
// serving it needs GRPCServerOptions.
type GRPCPluginV1 struct {
	plugin.NetRPCUnsupportedPlugin
	Factory Factory
	Env     Env
}

var _ plugin.GRPCPlugin = (*GRPCPluginV1)(nil)

// GRPCServer registers a new backend from Factory on s.
func (p *GRPCPluginV1) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	backendv1.RegisterBackendServer(s, newWireServer(p.Factory(p.Env), p.Env.Logger))
	return nil
}

// GRPCClient answers a Client speaking to the plugin over conn.
func (p *GRPCPluginV1) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return newWireClient(conn), nil
}
