//go:build !linux

package testpg

import "syscall"

// sysProcAttr: elsewhere there is no parent-death signal, so only Main
// and test cleanups stop the server; and tests are not run as root there.
func sysProcAttr(*account) *syscall.SysProcAttr { return nil }
