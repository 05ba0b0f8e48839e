//go:build unix && !linux

package core

import "syscall"

// dieWithRunbook does nothing where the kernel has no parent-death signal.
func dieWithRunbook(*syscall.SysProcAttr) {}
