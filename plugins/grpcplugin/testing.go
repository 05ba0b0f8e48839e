package grpcplugin

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	pb "github.com/runbook-dev/runbook/plugins/proto/pluginv1"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// InMemory serves impl over a real gRPC connection in memory, with the
// same server limits as a plugin process, and returns the client side and
// a function that tears both down. Tests use it to run a provider through
// the protocol without starting a process (go-plugin's TestPluginGRPCConn
// would impose its default 4 MiB message limit).
func InMemory(impl provider.Provider) (provider.Provider, func(), error) {
	ln := bufconn.Listen(1 << 20)
	srv := NewGRPCServer(nil)
	pb.RegisterProviderServer(srv, NewServer(impl))
	go func() { _ = srv.Serve(ln) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)))
	if err != nil {
		srv.Stop()
		return nil, nil, err
	}
	return NewClient(pb.NewProviderClient(conn)), func() {
		_ = conn.Close()
		srv.Stop()
	}, nil
}
