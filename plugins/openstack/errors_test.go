package openstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/zclconf/go-cty/cty"
)

func unexpected(method, u string, status int, body string) gophercloud.ErrUnexpectedResponseCode {
	return gophercloud.ErrUnexpectedResponseCode{URL: u, Method: method, Expected: []int{200}, Actual: status, Body: []byte(body)}
}

func TestBodyMessage(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{fixture(t, "nova_samples", "error_404.json"), "ShareSnapshotNotFound: Snapshot 70bfbebc-d3ff-4528-8bbb-58422daa280b could not be found."},
		{fixture(t, "nova_samples", "neutron_error_409.json"), "Cannot associate floating IP 172.24.4.228 (2f245a7b-796b-4f26-9cf9-9e82d248fda7) with port 423abc8d-2991-4a55-ba98-2aaea84cc72e using fixed IP 10.0.0.3, as that fixed IP already has a floating IP on external network 376da547-b977-4cfe-9cba-275c80debf57."},
		{`{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}`, "The request you have made requires authentication."},
		{`{"message": "bare"}`, "bare"},
		{"<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>", "503 Service Unavailable No server is available to handle this request."},
		{"plain text", "plain text"},
		{"", ""},
	} {
		if got := bodyMessage([]byte(tc.body)); got != tc.want {
			t.Errorf("bodyMessage(%.40q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

func TestAPIError(t *testing.T) {
	err := apiError(unexpected("POST", "http://nova:8774/v2.1/p/servers/abc/action?x=1", 409, `{"conflictingRequest": {"code": 409, "message": "Cannot 'stop' instance abc while it is in vm_state stopped"}}`))
	want := "POST /v2.1/p/servers/abc/action?x=1: 409 Conflict: Cannot 'stop' instance abc while it is in vm_state stopped"
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 409 || he.Method != "POST" {
		t.Errorf("not an HTTPError: %#v", err)
	}
	// Behind a re-authentication, the request's error still shows.
	reauth := &gophercloud.ErrErrorAfterReauthentication{ErrOriginal: ptr(unexpected("GET", "http://nova/v2.1/servers/x", 404, fixture(t, "nova_samples", "error_404.json")))}
	if got := apiError(reauth); !isNotFound(got) || got.Error() != "GET /v2.1/servers/x: 404 Not Found: ShareSnapshotNotFound: Snapshot 70bfbebc-d3ff-4528-8bbb-58422daa280b could not be found." {
		t.Errorf("after reauth: %v", got)
	}
	if apiError(nil) != nil {
		t.Error("apiError(nil) is not nil")
	}
}

func TestIsRetryable(t *testing.T) {
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"500", unexpected("GET", "http://x/", 500, ""), true},
		{"502 from a proxy", unexpected("GET", "http://x/", 502, "<html>bad gateway</html>"), true},
		{"503", unexpected("GET", "http://x/", 503, ""), true},
		{"504", unexpected("GET", "http://x/", 504, ""), true},
		{"429", unexpected("GET", "http://x/", 429, ""), true},
		{"409 task_state", unexpected("POST", "http://x/", 409, `{"conflictingRequest": {"message": "Cannot 'evacuate' instance i while it is in task_state rebuilding"}}`), true},
		{"409 vm_state", unexpected("POST", "http://x/", 409, `{"conflictingRequest": {"message": "Cannot 'stop' instance i while it is in vm_state stopped"}}`), false},
		{"409 locked", unexpected("POST", "http://x/", 409, `{"conflictingRequest": {"message": "Instance i is locked"}}`), false},
		{"409 neutron", unexpected("PUT", "http://x/", 409, fixture(t, "nova_samples", "neutron_error_409.json")), false},
		{"400", unexpected("POST", "http://x/", 400, ""), false},
		{"401", unexpected("GET", "http://x/", 401, ""), false},
		{"403", unexpected("GET", "http://x/", 403, ""), false},
		{"404", unexpected("GET", "http://x/", 404, ""), false},
		{"connection refused", &url.Error{Op: "Get", URL: "http://x/", Err: opErr}, true},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"dropped", &url.Error{Op: "Get", URL: "http://x/", Err: io.EOF}, true},
		{"cancelled", &url.Error{Op: "Get", URL: "http://x/", Err: context.Canceled}, false},
		{"deadline", context.DeadlineExceeded, false},
		{"other", errors.New("flavor unknown"), false},
	} {
		if got := isRetryable(tc.err); got != tc.want {
			t.Errorf("%s: isRetryable = %t, want %t", tc.name, got, tc.want)
		}
	}
}

// TestConnectionErrorIsRetryable runs a real refused connection through
// an action.
func TestConnectionErrorIsRetryable(t *testing.T) {
	fc := newFakeCloud(t)
	fc.reply(http.MethodGet, derpPath, 200, fixture(t, "compute", "server_get.json"))
	p := fc.provider(nil)
	mustApply(t, p, "server_get", map[string]cty.Value{"server": str(derpID)})
	fc.srv.Close()
	c := apply(t, p, "server_get", map[string]cty.Value{"server": str(derpID)})
	if c.err == nil || !providerErr(t, c.err).Retryable {
		t.Errorf("refused connection: %v", c.err)
	}
}
