//go:build !unix

package main

import (
	"os"
	"os/exec"
)

// isolate: without process groups a timeout kills only the command.
func isolate(*exec.Cmd) {}

// maxRSS is unknown without rusage.
func maxRSS(*os.ProcessState) int64 { return 0 }
