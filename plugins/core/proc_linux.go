package core

import "syscall"

// dieWithRunbook makes the kernel SIGKILL a command when the runbook
// process dies (kill -9, a crash): a resumed run could otherwise re-run
// an idempotent step while the orphan of its interrupted attempt is still
// at work. The signal follows the thread that started the child; Go ends
// a thread only when a goroutine locked to it returns, and commands are
// started from ordinary goroutines. A shell's own children are not
// covered: they are in the command's process group, which cancellation
// kills, but the kernel does not signal them on runbook's death.
func dieWithRunbook(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
