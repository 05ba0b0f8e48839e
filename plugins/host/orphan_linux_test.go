package host

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
)

// TestPluginDiesWithHost SIGKILLs a process that runs a plugin through the
// host, as a crash or kill -9 of runbook would: the plugin must not
// outlive it. go-plugin alone leaves it running, serving nobody.
func TestPluginDiesWithHost(t *testing.T) {
	tr := newTestRunbook(t, testRunbookSrc)
	tr.init(t)
	helper := exec.Command(os.Args[0], "-test.run=^TestOrphanHelper$")
	helper.Env = append(os.Environ(), orphanHelperEnv+"="+tr.dir)
	var stderr bytes.Buffer
	helper.Stderr = &stderr
	stdout, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "plugin pid ")))
	if err != nil || perr != nil || !strings.HasPrefix(line, "plugin pid ") {
		_ = helper.Process.Kill()
		_ = helper.Wait()
		t.Fatalf("helper said %q (%v): %s", line, err, stderr.String())
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) }) // only if the test fails
	if err := helper.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for !deadOrZombie(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("plugin process %d outlived its SIGKILLed host by 5s", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOrphanHelper is the killed host of TestPluginDiesWithHost; it does
// nothing in a normal test run.
func TestOrphanHelper(t *testing.T) {
	dir := os.Getenv(orphanHelperEnv)
	if dir == "" {
		t.Skip("helper process of TestPluginDiesWithHost")
	}
	cfg, diags := dsl.NewLoader().Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	h := New(Options{Config: cfg, SearchPath: []string{filepath.Join(dir, PluginDir)}})
	p, err := h.Provider(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Configure(context.Background(), cty.ObjectVal(map[string]cty.Value{"greeting": cty.StringVal("x")})); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("plugin pid %d\n", echoPID(t, p, "x"))
	select {} // until SIGKILL
}

// deadOrZombie reports whether pid is gone or only waits to be reaped
// (an orphan is reaped by PID 1, which in a container may never do it).
func deadOrZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}
