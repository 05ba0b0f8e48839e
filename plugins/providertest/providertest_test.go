package providertest_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/plugins/providertest"
	"github.com/runbook-dev/runbook/plugins/providertest/testprovider"
)

// pluginPath is the test provider built as a plugin binary, once.
var pluginPath string

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		// go-plugin's TestPluginGRPCConn logs its debug lines to hclog's
		// default output, stderr; keep them for -v.
		hclog.DefaultOutput = io.Discard
	}
	dir, err := os.MkdirTemp("", "providertest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginPath, err = providertest.Build("./testprovider/cmd", dir, "runbook-provider-"+testprovider.Name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestInProcess runs the suite against the SDK's provider directly.
func TestInProcess(t *testing.T) {
	providertest.Run(t, func(*testing.T) provider.Provider { return testprovider.New() })
}

// TestGRPC runs it through the gRPC adapter over an in-memory connection.
func TestGRPC(t *testing.T) {
	providertest.Run(t, func(t *testing.T) provider.Provider { return providertest.Connect(t, testprovider.New()) })
}

// TestSubprocess runs it against the plugin binary started through
// go-plugin, as the host starts providers. The plugin's log must not show
// the suite's secrets either.
func TestSubprocess(t *testing.T) {
	providertest.Run(t, func(t *testing.T) provider.Provider {
		pl := providertest.Launch(t, pluginPath)
		t.Cleanup(func() {
			log := pl.Log()
			for _, s := range []string{providertest.Secret, providertest.SecretNote, providertest.SecretToken} {
				if strings.Contains(log, s) {
					t.Errorf("the plugin's log shows a sensitive value:\n%s", log)
				}
			}
		})
		return pl.Provider // not pl, which would hide the client's Stop
	})
}

// TestSubprocessCrash: a plugin that dies in the middle of Apply makes
// Apply fail, not hang, and a new plugin process starts afterwards.
func TestSubprocessCrash(t *testing.T) {
	ctx := context.Background()
	pl := providertest.Launch(t, pluginPath)
	if err := pl.Configure(ctx, cty.NullVal(cty.DynamicPseudoType)); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := pl.Apply(ctx, &provider.Request{Action: "crash", Inputs: cty.EmptyObjectVal})
		errc <- err
	}()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("Apply of a crashing plugin returned no error")
		}
		t.Logf("Apply: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("Apply hung after the plugin crashed")
	}
	deadline := time.Now().Add(10 * time.Second)
	for !pl.Client.Exited() {
		if time.Now().After(deadline) {
			t.Fatal("go-plugin does not see the process as exited")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if log := pl.Log(); !strings.Contains(log, "exit status 3") {
		t.Errorf("the host's log does not record exit status 3:\n%s", log)
	}

	again := providertest.Launch(t, pluginPath)
	if _, err := again.Schema(ctx); err != nil {
		t.Fatalf("Schema on a new plugin: %v", err)
	}
	if err := again.Configure(ctx, cty.NullVal(cty.DynamicPseudoType)); err != nil {
		t.Fatalf("Configure on a new plugin: %v", err)
	}
	in := providertest.Schema().Actions["echo"].Inputs.ImpliedType()
	vals := map[string]cty.Value{}
	for name, ty := range in.AttributeTypes() {
		vals[name] = cty.NullVal(ty)
	}
	vals["string"] = cty.StringVal("alive")
	resp, err := again.Apply(ctx, &provider.Request{Action: "echo", Inputs: cty.ObjectVal(vals)})
	if err != nil {
		t.Fatalf("Apply on a new plugin: %v", err)
	}
	if got := resp.Outputs.GetAttr("string"); !got.RawEquals(cty.StringVal("alive")) {
		t.Errorf("echo returned %#v", got)
	}
}
