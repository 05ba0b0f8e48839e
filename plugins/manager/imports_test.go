package manager_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the dependencies one way: the provider and its plugin
// command use the SDK and the client, never the engine, the CLI, the plugin
// host, the core provider or the simulators.
func TestImports(t *testing.T) {
	const mod = "github.com/runbook-dev/runbook/"
	forbidden := []string{mod + "runbook", mod + "cmd/", mod + "plugins/host", mod + "plugins/core", mod + "internal/"}
	for _, pkg := range []string{".", "./cmd/runbook-provider-manager", "./client"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") || (strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f)) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
