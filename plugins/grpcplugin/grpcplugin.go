// Package grpcplugin is the one adapter between the engine's Provider
// interface and the gRPC provider protocol (plugins/proto/pluginv1), in
// both directions, plus the go-plugin handshake both sides share: the host
// wraps a plugin's connection in Client, and the SDK serves a provider
// through Server. Because the engine only ever sees provider.Provider, it
// cannot tell a plugin from the in-process core provider.
//
// It follows go-plugin's examples/grpc/shared layout. It imports the
// provider contract and the generated protocol; nothing imports the
// generated types but this package.
package grpcplugin

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/runbook-dev/runbook/plugins/proto/pluginv1"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// ProtocolVersion is the provider protocol this build speaks. go-plugin
// negotiates it with the plugin during the handshake.
const ProtocolVersion = 1

// PluginName is the key of the provider in go-plugin's plugin set.
const PluginName = "provider"

// Handshake is checked by both sides before anything else: a runbook
// plugin started by hand, or another program's plugin, refuses to run.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "RUNBOOK_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "d1f6c0e7-runbook-provider-v1",
}

// VersionedPlugins lists the protocol versions this build can speak, for
// negotiation; impl is nil on the host side.
func VersionedPlugins(impl provider.Provider) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {PluginName: &Plugin{Impl: impl}},
	}
}

// MaxMessageSize bounds one message either way. Values cross whole, and
// an action's input or output (a file's content, a large JSON document)
// may pass gRPC's 4 MiB default.
const MaxMessageSize = 256 << 20

// NewGRPCServer is go-plugin's DefaultGRPCServer with the message size
// limit raised to MaxMessageSize; plugins serve with it.
func NewGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	return plugin.DefaultGRPCServer(append(opts, grpc.MaxRecvMsgSize(MaxMessageSize), grpc.MaxSendMsgSize(MaxMessageSize)))
}

// Plugin is the go-plugin glue: on the plugin side it registers a Server
// for Impl, on the host side it returns a Client.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl provider.Provider
}

var _ plugin.GRPCPlugin = (*Plugin)(nil)

// GRPCServer implements plugin.GRPCPlugin.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterProviderServer(s, NewServer(p.Impl))
	return nil
}

// GRPCClient implements plugin.GRPCPlugin.
func (p *Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return NewClient(pb.NewProviderClient(c)), nil
}
