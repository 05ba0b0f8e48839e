//go:build unix

package main

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// isolate starts the command in a new process group and makes the
// context's cancellation kill the whole group.
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// maxRSS is the peak resident memory wait4 reports for the process: the
// largest of its own and that of any descendant it waited for (Linux
// keeps the maximum, not the sum), in bytes.
func maxRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss) // bytes there, KiB elsewhere
	}
	return int64(ru.Maxrss) * 1024
}
