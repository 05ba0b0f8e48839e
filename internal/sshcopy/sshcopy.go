// Package sshcopy reaches files on another host over SSH and SFTP, for
// copies to and from a disaster-recovery site. It owns the parts that are
// easy to get subtly wrong: the sftp:// URL syntax, dialing with a timeout
// and the caller's context, the authentication methods, a host key policy
// that is strict unless told otherwise, and an atomic remote write
// (temporary file, fsync, posix-rename). Callers stream the bytes
// themselves, so that they can hash them and report progress.
//
// Every error it returns is an *Error that names the host and the path and
// says whether trying again may help. No error or message ever holds the
// password or the passphrase.
package sshcopy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"

	"github.com/pkg/sftp"
)

// Kind classifies a failure by what the caller can do about it.
type Kind int

const (
	// KindConnect: the host could not be reached or the connection broke
	// during the handshake. Trying again may help.
	KindConnect Kind = iota + 1
	// KindTransfer: the connection failed while working on a file. Trying
	// again may help.
	KindTransfer
	// KindHostKey: the host's key is unknown, changed or revoked.
	KindHostKey
	// KindAuth: the server refused every credential offered, or there was
	// none to offer.
	KindAuth
	// KindKeyFile: the private key file cannot be read or decrypted.
	KindKeyFile
	// KindKnownHosts: the known_hosts file cannot be read.
	KindKnownHosts
	// KindNotExist: a remote file or directory does not exist.
	KindNotExist
	// KindPermission: the server denied access to a remote file.
	KindPermission
	// KindRemote: the server refused an operation for another reason.
	KindRemote
)

// Error is a failed remote operation.
type Error struct {
	Kind Kind
	Op   string // what was being done: "connect to", "open", "rename", ...
	Addr string // host:port
	Path string // the remote path; "" for the connection itself
	Msg  string // what went wrong, in words
	Err  error  // the cause, if any
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Op + " " + e.Addr + ": " + e.Msg
	}
	return e.Op + " " + e.Path + " on " + e.Addr + ": " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the same operation may succeed later: only
// when the network, not the configuration or the server's answer, failed.
func (e *Error) Retryable() bool {
	return e.Kind == KindConnect || e.Kind == KindTransfer
}

// fileError classifies the error of an SFTP operation on path. The server
// answered with a status unless the connection itself failed, and only
// the latter is worth retrying.
func fileError(op, addr, path string, err error) *Error {
	e := &Error{Op: op, Addr: addr, Path: path, Err: err, Msg: err.Error()}
	var status *sftp.StatusError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		e.Kind, e.Msg = KindNotExist, "no such file or directory"
	case errors.Is(err, fs.ErrPermission):
		e.Kind, e.Msg = KindPermission, "permission denied"
	case errors.As(err, &status):
		e.Kind = KindRemote
	case errors.Is(err, sftp.ErrSSHFxConnectionLost), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), isNetError(err):
		e.Kind, e.Msg = KindTransfer, "connection lost ("+err.Error()+")"
	default:
		e.Kind = KindTransfer
	}
	return e
}

func isNetError(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.Is(err, os.ErrDeadlineExceeded)
}

// errorf is an error of the given kind with no cause worth keeping.
func errorf(kind Kind, op, addr, path, format string, args ...any) *Error {
	return &Error{Kind: kind, Op: op, Addr: addr, Path: path, Msg: fmt.Sprintf(format, args...)}
}
