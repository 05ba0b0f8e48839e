package sshcopy

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/pkg/sftp"
)

// What the server answers is final; a broken connection is not. (As root
// the tests cannot provoke "permission denied" from a real server.)
func TestFileErrorKinds(t *testing.T) {
	tests := []struct {
		err       error
		kind      Kind
		retryable bool
		msg       string
	}{
		{os.ErrNotExist, KindNotExist, false, "no such file or directory"},
		{os.ErrPermission, KindPermission, false, "permission denied"},
		{&sftp.StatusError{Code: 4}, KindRemote, false, "SSH_FX_FAILURE"},
		{sftp.ErrSSHFxConnectionLost, KindTransfer, true, "connection lost"},
		{io.ErrUnexpectedEOF, KindTransfer, true, "connection lost"},
		{errors.New("something else"), KindTransfer, true, "something else"},
	}
	for _, tt := range tests {
		e := fileError("open", "h:22", "/p", tt.err)
		if e.Kind != tt.kind || e.Retryable() != tt.retryable || !strings.Contains(e.Error(), tt.msg) ||
			!strings.HasPrefix(e.Error(), "open /p on h:22: ") || !errors.Is(e, tt.err) {
			t.Errorf("%v: %v (kind %d, retryable %v)", tt.err, e, e.Kind, e.Retryable())
		}
	}
}
