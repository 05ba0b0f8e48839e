package securitytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/runbook-dev/runbook/internal/dockertest"
	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
	simopenstack "github.com/runbook-dev/runbook/internal/sim/openstack"
)

// cases has one entry per shipped runbook, by directory under runbooks/.
var cases = map[string]rbCase{
	"examples/hello": {setup: func(t *testing.T, s *site) *fixture {
		return &fixture{failures: []failure{{name: "command fails printing the secret", vars: []string{"security_probe_exit=3"}}}}
	}},
	"examples/local-backup":      {secretVar: "passphrase", setup: localBackup},
	"instance-ha-evacuate":       {secretVar: "admin_password", setup: instanceHA},
	"manager-active-node-down":   {secretVar: "admin_password", setup: activeNodeDown},
	"manager-cluster-node-down":  {secretVar: "admin_password", setup: clusterNodeDown},
	"manager-cluster-whole-down": {secretVar: "admin_password", setup: clusterWholeDown},
	"manager-recovery":           {secretVar: "admin_password", setup: managerRecovery},
	"manager-restore":            {secretVar: "admin_password", setup: managerRestore},
	"manager-snapshot-daily":     {secretVar: "admin_password", setup: snapshotDaily},
	"standby-drill":              {secretVar: "password", setup: standbyDrill},
	"standby-failover":           {docker: true, setup: standbyFailover},
	"standby-nightly-transfer":   {secretVar: "manager_password", docker: true, setup: nightlyTransfer},
}

// authFailures are the failing runs of a runbook that logs in: the right
// secret to a dead endpoint, and a wrong secret to the live one.
func authFailures(s *site, endpointVar, dead string, more ...string) []failure {
	return []failure{
		{name: "wrong endpoint", vars: append([]string{endpointVar + "=" + dead}, more...)},
		{name: "wrong password", secret: s.wrong, vars: more},
	}
}

// --- Cloudify manager -----------------------------------------------------

// managerSim starts a manager simulator whose admin's password is the
// secret.
func managerSim(t *testing.T, est *simmanager.Estate, password string) (*simmanager.Server, string) {
	t.Helper()
	if est == nil {
		est = &simmanager.Estate{}
	}
	est.Users = []simmanager.EstateUser{{Username: "admin", Password: password, Role: "sys_admin"}}
	srv := simmanager.New(simmanager.Options{Estate: est})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv, url
}

// clusterEstate is three managers with an application, a snapshot
// "nightly" holding it, and older daily snapshots.
func clusterEstate() *simmanager.Estate {
	contents := &simmanager.Contents{
		Blueprints:  []simmanager.EstateBlueprint{{ID: "app", Plugins: []simmanager.PluginRef{{PackageName: "cloudify-openstack-plugin", PackageVersion: "3.2.0"}}}},
		Deployments: []simmanager.EstateDeployment{{ID: "app-prod", BlueprintID: "app"}},
		Plugins: []simmanager.EstatePlugin{
			{ID: "os-320", PackageName: "cloudify-openstack-plugin", PackageVersion: "3.2.0"},
			{ID: "os-331", PackageName: "cloudify-openstack-plugin", PackageVersion: "3.3.1"},
		},
		Executions: []simmanager.EstateExecution{
			{ID: "heal-0400", WorkflowID: "heal", DeploymentID: "app-prod", Status: "scheduled", ScheduledFor: "-1h"},
		},
	}
	return &simmanager.Estate{
		Managers: []simmanager.EstateManager{
			{Hostname: "manager-1", PrivateIP: "10.0.0.5", PublicIP: "203.0.113.5"},
			{Hostname: "manager-2", PrivateIP: "10.0.0.6", PublicIP: "203.0.113.6"},
			{Hostname: "manager-3", PrivateIP: "10.0.0.7", PublicIP: "203.0.113.7"},
		},
		Snapshots: []simmanager.EstateSnapshot{
			{ID: "nightly", Status: "created", CreatedAt: "-3h", Contents: contents},
			{ID: "daily-00000000000000000000000001", Status: "created", CreatedAt: "-72h"},
			{ID: "daily-00000000000000000000000002", Status: "created", CreatedAt: "-48h"},
		},
	}
}

// firstCallFails makes the first API call answer 503, so that an attempt
// fails and its error travels through events, journal and logs.
func firstCallFails(t *testing.T, srv *simmanager.Server, f simmanager.Faults) {
	t.Helper()
	f.Seed = 42
	f.Rules = append(f.Rules, simmanager.FaultRule{PathPrefix: "/api/v3.1/", ErrorRate: 1, ErrorStatus: 503, Times: 1})
	if err := srv.SetFaults(f); err != nil {
		t.Fatal(err)
	}
}

// managerDo makes an authenticated request to the simulator.
func managerDo(t *testing.T, method, url, password string, body io.Reader) []byte {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth("admin", password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s %v\n%s", method, url, resp.Status, err, b)
	}
	return b
}

// archive downloads a snapshot's archive (what manager-snapshot-daily
// leaves in its backup directory), after creating the snapshot when
// create is set.
func archive(t *testing.T, s *site, url, id string, create bool) string {
	t.Helper()
	api := url + "/api/v3.1/snapshots/" + id
	if create {
		managerDo(t, http.MethodPut, api, s.secret, strings.NewReader(`{"include_credentials": true}`))
		deadline := time.Now().Add(10 * time.Second)
		for {
			var st struct{ Status string }
			if err := json.Unmarshal(managerDo(t, http.MethodGet, api, s.secret, nil), &st); err != nil {
				t.Fatal(err)
			}
			if st.Status == "created" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("snapshot %s is %s", id, st.Status)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	path := filepath.Join(s.work, id+".zip")
	if err := os.WriteFile(path, managerDo(t, http.MethodGet, api+"/archive", s.secret, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func snapshotDaily(t *testing.T, s *site) *fixture {
	srv, url := managerSim(t, clusterEstate(), s.secret)
	firstCallFails(t, srv, simmanager.Faults{})
	return &fixture{
		vars:     []string{"endpoint=" + url, "backup_dir=" + filepath.Join(s.work, "backups")},
		failures: authFailures(s, "endpoint", deadURL(t), "retry_attempts=1"),
	}
}

func managerRestore(t *testing.T, s *site) *fixture {
	srv, url := managerSim(t, clusterEstate(), s.secret)
	zip := archive(t, s, url, "nightly", false)
	firstCallFails(t, srv, simmanager.Faults{})
	return &fixture{
		vars:     []string{"endpoint=" + url, "snapshot_path=" + zip},
		failures: authFailures(s, "endpoint", deadURL(t), "retry_attempts=1"),
	}
}

func clusterWholeDown(t *testing.T, s *site) *fixture {
	srv, url := managerSim(t, clusterEstate(), s.secret)
	zip := archive(t, s, url, "nightly", false)
	certs := filepath.Join(s.work, "ssl")
	if err := os.Mkdir(certs, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"cloudify_internal_ca_cert.pem", "cloudify_internal_cert.pem", "cloudify_internal_key.pem"} {
		if err := os.WriteFile(filepath.Join(certs, f), []byte("-----BEGIN TEST-----\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	firstCallFails(t, srv, simmanager.Faults{})
	return &fixture{
		vars: []string{"endpoint=" + url, "snapshot_path=" + zip, "certs_dir=" + certs},
		// manager_up waits install_timeout for a dead endpoint to answer.
		failures: authFailures(s, "endpoint", deadURL(t), "retry_attempts=1", "install_timeout=2s"),
	}
}

// nodeDown fails manager-2 until the step healer starts (the operator
// has done their part by then).
func nodeDown(t *testing.T, s *site, healer string, failVars []string, vars ...string) *fixture {
	srv, url := managerSim(t, clusterEstate(), s.secret)
	firstCallFails(t, srv, simmanager.Faults{ClusterNodes: map[string]string{"manager-2": "Fail"}})
	var once sync.Once
	return &fixture{
		vars: append([]string{"endpoint=" + url}, vars...),
		onEvent: func(ev event) {
			if ev.Type == "step_started" && ev.Step == healer {
				once.Do(func() {
					if err := srv.SetFaults(simmanager.Faults{ClusterNodes: map[string]string{"manager-2": "OK"}}); err != nil {
						t.Error(err)
					}
				})
			}
		},
		failures: authFailures(s, "endpoint", deadURL(t), append([]string{"retry_attempts=1"}, failVars...)...),
	}
}

func clusterNodeDown(t *testing.T, s *site) *fixture { return nodeDown(t, s, "step.join", nil) }

func activeNodeDown(t *testing.T, s *site) *fixture {
	// failover waits failover_timeout for a dead endpoint to answer.
	return nodeDown(t, s, "step.fix", []string{"failover_timeout=2s"}, "resolution=fix")
}

// --- OpenStack --------------------------------------------------------------

// openstackSim starts an OpenStack simulator with the estate in file,
// whose admin's password is the secret.
func openstackSim(t *testing.T, file, password string) (*simopenstack.Server, string) {
	t.Helper()
	est, err := simopenstack.LoadEstate(file)
	if err != nil {
		t.Fatal(err)
	}
	est.Users = []simopenstack.EstateUser{{Name: "admin", Password: password, DefaultProject: "admin", Roles: map[string]string{"admin": "admin"}}}
	srv := simopenstack.New(simopenstack.Options{Estate: est})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv, url
}

func instanceHA(t *testing.T, s *site) *fixture {
	srv, url := openstackSim(t, filepath.Join(s.rb, "drill.estate.json"), s.secret)
	if err := srv.SetFaults(simopenstack.Faults{Seed: 7, Rules: []simopenstack.FaultRule{
		{PathPrefix: "/compute/v2.1/os-services", ErrorRate: 1, ErrorStatus: 503, Times: 1},
	}}); err != nil {
		t.Fatal(err)
	}
	return &fixture{
		vars:     []string{"auth_url=" + url + "/v3"},
		failures: authFailures(s, "auth_url", deadURL(t)+"/v3", "retry_attempts=1"),
	}
}

func managerRecovery(t *testing.T, s *site) *fixture {
	_, osURL := openstackSim(t, filepath.Join(s.rb, "drill.estate.json"), s.secret)
	est, err := simmanager.LoadEstate(filepath.Join(repoRoot, "runbooks", "manager-drill.estate.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, mgrURL := managerSim(t, est, s.secret)
	zip := archive(t, s, mgrURL, "before-crash", true)
	return &fixture{
		vars:     []string{"auth_url=" + osURL + "/v3", "manager_endpoint=" + mgrURL, "snapshot_path=" + zip},
		failures: authFailures(s, "auth_url", deadURL(t)+"/v3"),
	}
}

// --- The standby site (seed 004) --------------------------------------------

// fakeCodenvy answers what standby-drill calls of Codenvy's API: login
// (the password must be the secret; the answer holds a token, a secret
// made at run time), and workspace create, read and delete with the token.
type fakeCodenvy struct {
	password, token string
	mu              sync.Mutex
	workspaces      map[string]any
}

func (f *fakeCodenvy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch {
	case r.URL.Path == "/api/":
		reply(200, map[string]any{"resources": []string{"workspace"}})
	case r.URL.Path == "/api/auth/login" && r.Method == http.MethodPost:
		var in struct{ Username, Password string }
		if json.NewDecoder(r.Body).Decode(&in) != nil || in.Password != f.password {
			reply(401, map[string]any{"message": "Authentication failed"})
			return
		}
		reply(200, map[string]any{"value": f.token})
	case r.Header.Get("Authorization") != f.token:
		reply(401, map[string]any{"message": "Unauthorized"})
	case r.URL.Path == "/api/workspace" && r.Method == http.MethodPost:
		id := fmt.Sprintf("workspace%d", len(f.workspaces)+1)
		f.workspaces[id] = map[string]any{"id": id, "status": "STOPPED"}
		reply(201, f.workspaces[id])
	case strings.HasPrefix(r.URL.Path, "/api/workspace/"):
		id := strings.TrimPrefix(r.URL.Path, "/api/workspace/")
		ws, ok := f.workspaces[id]
		switch {
		case !ok:
			reply(404, map[string]any{"message": "Workspace with id '" + id + "' doesn't exist"})
		case r.Method == http.MethodDelete:
			delete(f.workspaces, id)
			w.WriteHeader(204)
		default:
			reply(200, ws)
		}
	default:
		reply(404, map[string]any{"message": "not found"})
	}
}

func standbyDrill(t *testing.T, s *site) *fixture {
	token := newSecret("T")
	api := httptest.NewServer(&fakeCodenvy{password: s.secret, token: token, workspaces: map[string]any{}})
	t.Cleanup(api.Close)
	ldap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	t.Cleanup(ldap.Close)
	return &fixture{
		vars:     []string{"secondary_url=" + api.URL, `integration_checks={ ldap = "` + ldap.URL + `/ldap" }`, "retry_delay=10ms"},
		failures: authFailures(s, "secondary_url", deadURL(t), "retry_attempts=1"),
		extra:    []string{token},
	}
}

// standbyFailover fails over to a stopped container of the local engine;
// the runbook declares no sensitive variable, so the probe carries the
// secret (and fails the run in the failing one).
func standbyFailover(t *testing.T, s *site) *fixture {
	cli := dockertest.Client(t)
	ref := dockertest.Name("secfailover") + ":1"
	dockertest.BuildImage(t, cli, ref)
	name := dockertest.Name("secfailover-app")
	ctr := dockertest.RunContainer(t, cli, ref, name)
	if _, err := cli.ContainerStop(context.Background(), ctr, client.ContainerStopOptions{}); err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(up.Close)
	return &fixture{
		vars: []string{
			"containers=" + hclList(name),
			"secondary_health_url=" + up.URL, "public_url=" + up.URL,
			"fence_command=" + hclList("touch", filepath.Join(s.work, "fenced")),
			"reroute_command=" + hclList("sh", "-c", `echo "$PUBLIC_NAME A $SECONDARY_ADDRESS" > `+filepath.Join(s.work, "dns")),
		},
		failures: []failure{
			{name: "command fails printing the secret", vars: []string{"security_probe_exit=3"}},
			{name: "secondary unreachable", vars: []string{"secondary_health_url=" + deadURL(t), "health_timeout=1s", "poll_interval=100ms"}},
		},
	}
}

// nightlyTransfer sends a Cloudify manager snapshot (backup_method =
// "manager": the secret is the managers' password) and an image of the
// local engine from a primary to a secondary directory. ssh_password
// carries a second secret.
func nightlyTransfer(t *testing.T, s *site) *fixture {
	cli := dockertest.Client(t)
	ref := dockertest.Name("secstandby") + ":1.0"
	dockertest.BuildImage(t, cli, ref)
	_, primary := managerSim(t, nil, s.secret)
	_, secondary := managerSim(t, nil, s.secret)
	sites := filepath.Join(s.work, "sites")
	for _, d := range []string{"primary", "secondary"} {
		if err := os.MkdirAll(filepath.Join(sites, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	config := filepath.Join(sites, "primary", "codenvy.pp")
	if err := os.WriteFile(config, []byte("node 'codenvy' { $host_url = 'codenvy.example.com' }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sshPassword := newSecret("P")
	return &fixture{
		vars: []string{
			"staging_dir=" + filepath.Join(sites, "staging"),
			"secondary_dir=" + filepath.Join(sites, "secondary"),
			"config_file=" + config,
			"secondary_config_file=" + filepath.Join(sites, "secondary", "codenvy.pp.installed"),
			"image_labels=[]", "image_references=" + hclList(ref),
			"backup_method=manager", "primary_manager_endpoint=" + primary, "secondary_manager_endpoint=" + secondary,
			"retry_delay=50ms",
		},
		env:      []string{"RUNBOOK_VAR_ssh_password=" + sshPassword},
		failures: authFailures(s, "primary_manager_endpoint", deadURL(t), "retry_attempts=1"),
		extra:    []string{sshPassword},
	}
}

// localBackup encrypts the off-site copies with the passphrase (the
// secret). In the failing run, openssl is a stand-in that rejects the
// passphrase and prints it in its error, as a careless tool would.
func localBackup(t *testing.T, s *site) *fixture {
	fake := filepath.Join(s.work, "fakebin")
	if err := os.Mkdir(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nprintf 'openssl: bad passphrase [%s]\\n' \"$BACKUP_PASSPHRASE\" >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(fake, "openssl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	fx := &fixture{
		vars: []string{"encrypt=true", "workdir=" + filepath.Join(s.work, "backup")},
		failures: []failure{{
			name: "openssl fails printing the secret",
			env:  []string{"PATH=" + fake + string(os.PathListSeparator) + os.Getenv("PATH")},
		}},
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		// No openssl here: a stand-in that copies, for the run that works.
		works := filepath.Join(s.work, "copybin")
		if err := os.Mkdir(works, 0o755); err != nil {
			t.Fatal(err)
		}
		cp := "#!/bin/sh\nwhile [ $# -gt 0 ]; do case $1 in -in) in=$2; shift;; -out) out=$2; shift;; esac; shift; done\ncp \"$in\" \"$out\"\n"
		if err := os.WriteFile(filepath.Join(works, "openssl"), []byte(cp), 0o755); err != nil {
			t.Fatal(err)
		}
		fx.env = []string{"PATH=" + works + string(os.PathListSeparator) + os.Getenv("PATH")}
		t.Log("NOTE: no openssl: the successful run encrypts with a stand-in")
	}
	return fx
}

// hclList writes strings as an HCL list for -var.
func hclList(items ...string) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, s := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", s)
	}
	b.WriteByte(']')
	return b.String()
}
