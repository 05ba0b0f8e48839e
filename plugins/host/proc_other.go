//go:build !linux

package host

import "os/exec"

// dieWithHost does nothing here: only Linux has a parent-death signal, so
// elsewhere a plugin outlives a runbook that is killed (not one that exits:
// that stops its plugins).
func dieWithHost(*exec.Cmd) {}
