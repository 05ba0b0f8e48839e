//go:build unix

package core

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcessGroup starts the command in its own process group and makes
// context cancellation kill the whole group, so that a shell's children
// (sh -c 'sleep 30') die with it rather than holding the output pipes open.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithRunbook(cmd.SysProcAttr)
	cmd.Cancel = func() error {
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if err == syscall.ESRCH {
			return os.ErrProcessDone
		}
		return err
	}
}
