//go:build !unix

package core

import "os/exec"

// setProcessGroup is a no-op where process groups do not exist: context
// cancellation kills the process itself (exec.CommandContext's default).
func setProcessGroup(*exec.Cmd) {}
