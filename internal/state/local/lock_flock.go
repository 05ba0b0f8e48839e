//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package local

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// lockedfile only offers blocking locks, and a second apply must fail at
// once rather than wait, so here we call flock(2) with LOCK_NB directly.
// It is the same primitive lockedfile uses on these systems, so the lock
// also excludes a lockedfile.Mutex on the same path.

func tryLock(path string) (io.Closer, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// isLocked probes the lock with a shared, non-blocking flock, released at
// once by Close.
func isLocked(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer func() { _ = f.Close() }()
	err = flock(f, syscall.LOCK_SH|syscall.LOCK_NB)
	if errors.Is(err, errWouldBlock) {
		return true, nil
	}
	return false, err
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		switch err {
		case nil:
			return nil
		case syscall.EINTR:
			continue
		case syscall.EWOULDBLOCK:
			return errWouldBlock
		}
		return &fs.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
}
