package main

import (
	"regexp"
	"strings"
)

// singleDashLong matches Terraform-style options such as -var or
// -var-file=x.hcl. Runbook users come from Terraform and type them that
// way; pflag reads a single dash as a cluster of one-letter options, so they
// are rewritten to the double-dash form before parsing.
var singleDashLong = regexp.MustCompile(`^-[a-z][a-z0-9]+(-[a-z0-9]+)*(=.*)?$`)

func normalizeArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "--" {
			copy(out[i:], args[i:])
			break
		}
		if singleDashLong.MatchString(a) {
			a = "-" + a
		}
		out[i] = a
	}
	return out
}

// varArgs collects -var and -var-file in command-line order: later ones
// win, so the order must survive flag parsing.
type varArgs struct {
	list *[]varArg
	file bool
}

type varArg struct {
	file  bool
	value string
}

func (v varArgs) String() string {
	var parts []string
	for _, a := range *v.list {
		if a.file == v.file {
			parts = append(parts, a.value)
		}
	}
	return strings.Join(parts, ",")
}

func (v varArgs) Set(s string) error {
	*v.list = append(*v.list, varArg{file: v.file, value: s})
	return nil
}

func (v varArgs) Type() string {
	if v.file {
		return "file"
	}
	return "name=value"
}
