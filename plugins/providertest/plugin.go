package providertest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/runbook-dev/runbook/plugins/grpcplugin"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// Build compiles the Go main package pkg (a path relative to the current
// directory, or an import path) with `go build` into dir/name and returns
// the binary's path. In a test binary built with -race, the plugin is
// built with -race too.
func Build(pkg, dir, name string) (string, error) {
	out := filepath.Join(dir, name)
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, pkg)
	cmd := exec.Command("go", args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %v: %v\n%s", args, err, stderr.String())
	}
	return out, nil
}

// Plugin is a provider running in its own process, started as the host
// starts one.
type Plugin struct {
	provider.Provider
	// Client is go-plugin's handle on the process.
	Client *plugin.Client

	log *syncBuffer
}

// Log returns what the plugin process wrote to its stderr (the SDK's and
// go-plugin's log lines) and what go-plugin logged about it, so far.
func (p *Plugin) Log() string { return p.log.String() }

// Launch starts the plugin binary at path through go-plugin (handshake,
// gRPC only, automatic mutual TLS) and dispenses its provider. The process
// is killed when the test ends.
func Launch(t testing.TB, path string) *Plugin {
	t.Helper()
	log := &syncBuffer{}
	cmd := exec.Command(path)
	if raceEnabled {
		// A -race binary sleeps a second on exit by default, which every
		// Kill would wait for.
		cmd.Env = append(os.Environ(), "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  grpcplugin.Handshake,
		VersionedPlugins: grpcplugin.VersionedPlugins(nil),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Cmd:              cmd,
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "host", Output: log, Level: hclog.Trace}),
		Stderr:           log,
	})
	t.Cleanup(func() {
		client.Kill()
		if strings.Contains(log.String(), "WARNING: DATA RACE") {
			t.Errorf("the plugin %s reported a data race:\n%s", path, log.String())
		}
	})
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("starting the plugin %s: %v\n%s", path, err, log.String())
	}
	raw, err := rpc.Dispense(grpcplugin.PluginName)
	if err != nil {
		t.Fatalf("dispensing the provider: %v\n%s", err, log.String())
	}
	p, ok := raw.(provider.Provider)
	if !ok {
		t.Fatalf("the plugin dispensed a %T, not a provider.Provider", raw)
	}
	return &Plugin{Provider: p, Client: client, log: log}
}

// Connect serves impl over an in-memory gRPC connection with a plugin's
// server limits (grpcplugin.InMemory) and returns the client side: the
// whole gRPC adapter without a process.
func Connect(t testing.TB, impl provider.Provider) provider.Provider {
	t.Helper()
	p, stop, err := grpcplugin.InMemory(impl)
	if err != nil {
		t.Fatalf("connecting in memory: %v", err)
	}
	t.Cleanup(stop)
	return p
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of
// go-plugin's log and stderr copiers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
