package host

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestPluginEnvironment: a plugin inherits runbook's environment but for
// the runbook variables and runbook's own credentials.
func TestPluginEnvironment(t *testing.T) {
	t.Setenv("RUNBOOK_VAR_password", "var-secret-1")
	t.Setenv("RUNBOOK_JOURNAL_KEY", strings.Repeat("ab", 32))
	t.Setenv("RUNBOOK_BACKEND_CONN_STR", "postgres://u:conn-secret@127.0.0.1/db")
	t.Setenv("OS_CLOUD", "kept")
	tr := newTestRunbook(t, testRunbookSrc)
	tr.init(t)
	pid := echoPID(t, tr.configured(t, "hi"), "hi")
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	env := "\x00" + string(b)
	for _, gone := range []string{"RUNBOOK_VAR_password=", "RUNBOOK_JOURNAL_KEY=", "RUNBOOK_BACKEND_CONN_STR="} {
		if strings.Contains(env, "\x00"+gone) {
			t.Errorf("the plugin inherited %s", gone)
		}
	}
	if !strings.Contains(env, "\x00OS_CLOUD=kept\x00") {
		t.Error("the plugin lost the rest of the environment (OS_CLOUD)")
	}
}
