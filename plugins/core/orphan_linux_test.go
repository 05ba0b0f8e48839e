package core_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/core"
)

const orphanHelperEnv = "RUNBOOK_CORE_TEST_ORPHAN_PIDFILE"

// TestExecDiesWithRunbook SIGKILLs a process running core.exec, as a kill
// -9 of runbook would: the command must not outlive it.
func TestExecDiesWithRunbook(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pid")
	helper := exec.Command(os.Args[0], "-test.run=^TestExecOrphanHelper$")
	helper.Env = append(os.Environ(), orphanHelperEnv+"="+pidfile)
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	pid := waitPID(t, pidfile, helper)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) }) // only if the test fails
	if err := helper.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	waitFor(t, 5*time.Second, "the command to die with its runbook", func() bool { return !alive(pid) })
}

// TestExecOrphanHelper is the killed runbook of TestExecDiesWithRunbook; it
// does nothing in a normal test run.
func TestExecOrphanHelper(t *testing.T) {
	pidfile := os.Getenv(orphanHelperEnv)
	if pidfile == "" {
		t.Skip("helper process of TestExecDiesWithRunbook")
	}
	// exec keeps the shell's pid for sleep: the pid written is the command's.
	script := "echo $$ > " + pidfile + ".tmp && mv " + pidfile + ".tmp " + pidfile + " && exec sleep 60"
	_, _ = core.New(core.Options{}).Apply(context.Background(),
		request(t, "exec", map[string]cty.Value{"command": strs("sh", "-c", script)}))
}

func waitPID(t *testing.T, pidfile string, helper *exec.Cmd) int {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(pidfile)
		if err == nil {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		if time.Now().After(deadline) {
			_ = helper.Process.Kill()
			t.Fatal("the helper's command never wrote its pid")
		}
	}
}
