// Package securitytest holds black-box security tests of the real
// binaries: runbook and the bundled provider plugins, built into a
// temporary directory as `make build` builds them, and run as an operator
// runs them, in subprocesses.
//
//   - secrets_test.go applies every shipped runbook (runbooks/*/ and
//     runbooks/examples/*/, found at run time: a new runbook without a case
//     fails the test) with a unique secret in a sensitive variable: init,
//     plan -out, plan -json, apply of the plan file with --json and -v,
//     the history commands, then runs that fail (a wrong endpoint, a wrong
//     password, a failing command) and their resume. The secret, and the
//     base64 and hex forms of it that a request header or a dump would
//     hold, must appear in none of stdout, stderr, the --json events, the
//     journal, the plan file, the lock file and every other file the runs
//     leave, nor in the plugins' own stderr, captured whole (trace level
//     included) by a wrapper around each plugin binary.
//   - modes_test.go checks the permissions of the state directory, the
//     journal, journal.key, lock, lock.info, the plan file and
//     .runbook.lock.hcl under umask 022 and 000.
//
// The simulators run in-process on loopback; the runbooks that need the
// Docker engine run only when it answers (dockertest.Client: skipped
// loudly, or failed under CI=true). This file exists for the package
// comment: the tests are all in _test.go files.
package securitytest
