package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// pluginRunbook writes a runbook that uses the host's test plugin
// (plugins/host/internal/testplugin, version 1.2.3), installed in its
// .runbook/plugins as provider "test".
func pluginRunbook(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, ".runbook", "plugins", "runbook-provider-test")
	out, err := exec.Command("go", "build", "-ldflags", "-X main.version=1.2.3", "-o", bin,
		"github.com/runbook-dev/runbook/plugins/host/internal/testplugin").CombinedOutput()
	if err != nil {
		t.Fatalf("building the test plugin: %v\n%s", err, out)
	}
	src := `runbook "plugins" {
  required_providers {
    test = "~> 1.2"
  }
}

provider "test" {
  greeting = "hello"
}

step "echo" {
  action = test.echo
  value  = "ping"
}

output "pong" {
  value = "${step.echo.value} ${step.echo.greeting}"
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RUNBOOK_PLUGIN_PATH", "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	return dir
}

func runCLI(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if got := run(args, &stdout, &stderr); got != want {
		t.Fatalf("runbook %s exited %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), got, want, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String()
}

func TestPluginCommands(t *testing.T) {
	dir := pluginRunbook(t)

	_, stderr := runCLI(t, 1, "validate", dir)
	if !strings.Contains(stderr, "Error: Provider not initialised") || !strings.Contains(stderr, "Run `runbook init` to record it.") {
		t.Fatalf("validate before init:\n%s", stderr)
	}
	runCLI(t, 1, "apply", "--auto-approve", dir)

	stdout, _ := runCLI(t, 0, "providers", dir)
	if !regexp.MustCompile(`(?m)^test +~> 1\.2 +1\.2\.3 \.runbook/plugins/runbook-provider-test +- *$`).MatchString(stdout) ||
		!strings.Contains(stdout, "Problems:") {
		t.Fatalf("providers before init:\n%s", stdout)
	}

	stdout, _ = runCLI(t, 0, "init", dir)
	if !regexp.MustCompile(`(?m)^- test 1\.2\.3 \(\.runbook/plugins/runbook-provider-test, sha256 [0-9a-f]{8}\)$`).MatchString(stdout) {
		t.Fatalf("init:\n%s", stdout)
	}
	lock, err := os.ReadFile(filepath.Join(dir, ".runbook.lock.hcl"))
	if err != nil || !strings.Contains(string(lock), `provider "test" {`) {
		t.Fatalf("lock file: %v\n%s", err, lock)
	}

	stdout, _ = runCLI(t, 0, "providers", dir)
	if !regexp.MustCompile(`(?m)^test +~> 1\.2 +1\.2\.3 \.runbook/plugins/runbook-provider-test +1\.2\.3 [0-9a-f]{8}$`).MatchString(stdout) ||
		strings.Contains(stdout, "Problems:") || !strings.Contains(stdout, "(used)") {
		t.Fatalf("providers after init:\n%s", stdout)
	}

	runCLI(t, 0, "validate", dir)
	stdout, _ = runCLI(t, 0, "plan", dir)
	if !strings.Contains(stdout, "step.echo (test.echo)") {
		t.Fatalf("plan:\n%s", stdout)
	}
	stdout, _ = runCLI(t, 0, "apply", "--auto-approve", "--state-dir", t.TempDir(), dir)
	if !strings.Contains(stdout, `pong = "ping hello"`) {
		t.Fatalf("apply:\n%s", stdout)
	}

	stdout, _ = runCLI(t, 0, "providers", "schema", "-json", dir)
	var doc struct {
		FormatVersion string `json:"format_version"`
		Providers     map[string]struct {
			Version string `json:"version"`
			Actions map[string]struct {
				Mutating bool                       `json:"mutating"`
				Outputs  map[string]json.RawMessage `json:"outputs"`
			} `json:"actions"`
		} `json:"providers"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("schema -json: %v\n%s", err, stdout)
	}
	test := doc.Providers["test"]
	if doc.FormatVersion != "1" || doc.Providers["core"].Actions["exec"].Outputs == nil || test.Version != "1.2.3" ||
		!test.Actions["crash"].Mutating || string(test.Actions["echo"].Outputs["pid"]) != `"number"` {
		t.Fatalf("schema -json:\n%s", stdout)
	}
	_, stderr = runCLI(t, 1, "providers", "schema", dir)
	if !strings.Contains(stderr, "-json") {
		t.Fatalf("schema without -json: %s", stderr)
	}

	// A changed binary is refused, naming the lock file and both hashes.
	f, err := os.OpenFile(filepath.Join(dir, ".runbook", "plugins", "runbook-provider-test"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("x")
	f.Close()
	for _, cmd := range []string{"validate", "plan", "apply"} {
		_, stderr = runCLI(t, 1, cmd, dir)
		if !regexp.MustCompile(`has sha256 [0-9a-f]{64}, but \S+\.runbook\.lock\.hcl records sha256 [0-9a-f]{64}`).MatchString(stderr) {
			t.Fatalf("%s of a changed plugin:\n%s", cmd, stderr)
		}
	}
}

func TestInitWithoutPlugins(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte("step \"a\" {\n  action   = core.sleep\n  duration = \"0s\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _ := runCLI(t, 0, "init", dir)
	if !strings.Contains(stdout, "only built-in providers") {
		t.Fatalf("init: %s", stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, ".runbook.lock.hcl")); err == nil {
		t.Fatal("init wrote a lock file for a runbook without plugins")
	}
	_, stderr := runCLI(t, 1, "init", filepath.Join(dir, "missing"))
	if stderr == "" {
		t.Fatal("init of a missing directory printed nothing")
	}
}
