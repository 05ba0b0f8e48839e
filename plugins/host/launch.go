package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/runbook-dev/runbook/plugins/grpcplugin"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// instance is one running plugin process.
type instance struct {
	name   string
	client *plugin.Client
	prov   *grpcplugin.Client
	stderr *ring
	dead   atomic.Bool

	mu   sync.Mutex
	exit string // "exit status 3", once go-plugin saw the process end
}

func (i *instance) setExit(s string) {
	i.mu.Lock()
	i.exit = s
	i.mu.Unlock()
}

func (i *instance) exitStatus() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.exit
}

// alive reports whether calls may go to the process.
func (i *instance) alive() bool { return !i.dead.Load() && !i.client.Exited() }

// launch starts the plugin binary at path, which must have the SHA-256
// sum (go-plugin checks it again right before it starts the process),
// completes the handshake and dispenses the provider.
func (h *Host) launch(name, path, sum string) (*instance, error) {
	checksum, err := hex.DecodeString(sum)
	if err != nil {
		return nil, fmt.Errorf("provider %q: bad checksum %q", name, sum)
	}
	inst := &instance{name: name, stderr: newRing()}
	logger := &hclogAdapter{l: h.opts.Logger, name: name, exit: inst.setExit}
	// The plugin's own stderr (fd 2: panics, hclog lines) reaches us
	// twice: raw through Stderr, for the crash message, and parsed
	// through Logger. What it writes to os.Stderr once serving goes
	// through go-plugin's stdio stream to SyncStderr.
	raw := &lineWriter{line: inst.stderr.add}
	synced := &lineWriter{line: func(s string) {
		inst.stderr.add(s)
		logger.Debug(s, "stream", "stderr")
	}}
	stdout := &lineWriter{line: func(s string) { logger.Debug(s, "stream", "stdout") }}
	cmd := exec.Command(path)
	cmd.Env = provider.InheritedEnv(os.Environ()) // with SkipHostEnv below
	dieWithHost(cmd)
	inst.client = plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  grpcplugin.Handshake,
		VersionedPlugins: grpcplugin.VersionedPlugins(nil),
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SecureConfig:     &plugin.SecureConfig{Checksum: checksum, Hash: sha256.New()},
		Logger:           logger,
		Stderr:           raw,
		SyncStderr:       synced,
		SyncStdout:       stdout,
		StartTimeout:     h.opts.StartTimeout,
	})
	h.launches.Add(1)
	rpc, err := inst.client.Client()
	if err != nil {
		inst.client.Kill()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			// The binary changed since it was hashed: say how.
			got, herr := hashFile(path)
			if herr == nil {
				return nil, mismatchError(name, path, got, h.opts.LockFile, sum)
			}
		}
		return nil, fmt.Errorf("provider %q: starting %s: %w%s", name, path, err, stderrTail(inst))
	}
	raw2, err := rpc.Dispense(grpcplugin.PluginName)
	if err != nil {
		inst.client.Kill()
		return nil, fmt.Errorf("provider %q: %w%s", name, err, stderrTail(inst))
	}
	prov, ok := raw2.(*grpcplugin.Client)
	if !ok {
		inst.client.Kill()
		return nil, fmt.Errorf("provider %q: the plugin dispensed a %T", name, raw2)
	}
	inst.prov = prov
	h.mu.Lock()
	h.instances[inst] = struct{}{}
	h.mu.Unlock()
	return inst, nil
}

// stop ends a plugin process cleanly: Stop cancels its calls in flight,
// then go-plugin asks it to shut down and waits for it (killing it after
// two seconds).
func (h *Host) stop(inst *instance) {
	h.mu.Lock()
	_, ok := h.instances[inst]
	delete(h.instances, inst)
	h.mu.Unlock()
	if !ok {
		return
	}
	if inst.alive() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = inst.prov.Stop(ctx)
		cancel()
	}
	inst.client.Kill()
}

func stderrTail(inst *instance) string {
	lines := inst.stderr.last()
	if len(lines) == 0 {
		return ""
	}
	return "; its last stderr lines:\n" + strings.Join(lines, "\n")
}

// waitExited waits until go-plugin has seen the process end (and so has
// read all of its stderr), or the timeout passes.
func waitExited(c *plugin.Client, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for !c.Exited() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}
