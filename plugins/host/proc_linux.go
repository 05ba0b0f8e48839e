package host

import (
	"os/exec"
	"syscall"
)

// dieWithHost makes the kernel SIGKILL the plugin when the runbook process
// dies. go-plugin gives a plugin no way to notice its host is gone (it
// inherits the host's stdin and listens on its own socket), so without
// this a SIGKILLed or crashed runbook leaves every plugin it started
// running, and a resumed run would race the orphan of the step it
// re-runs.
//
// The signal fires when the thread that started the child exits, not the
// process. The Go runtime only ends a thread when a goroutine locked to it
// (runtime.LockOSThread) returns, and plugins are started from ordinary
// goroutines, so in practice it fires exactly when runbook dies.
func dieWithHost(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
