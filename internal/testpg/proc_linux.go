package testpg

import "syscall"

// sysProcAttr runs the child as the server's account, and has the kernel
// send it SIGQUIT (immediate shutdown) should the test binary die without
// stopping it. Go sets the parent-death signal after changing user, which
// would otherwise clear it.
func sysProcAttr(owner *account) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT}
	if owner != nil {
		attr.Credential = &syscall.Credential{Uid: uint32(owner.uid), Gid: uint32(owner.gid), NoSetGroups: true}
	}
	return attr
}
