// Package dockertest is test support for code that talks to a real Docker
// engine: a gated client, a tiny image built without a registry, and
// containers, volumes and images that remove themselves when the test ends.
//
// No registry is reachable from the tests, so the image is made from
// nothing around a static Go program (compiled once per test process with
// the local toolchain) that serves HTTP on port 8080 and answers its own
// HEALTHCHECK (`/app -health`): an import of a one-file root file system
// with a Dockerfile's configuration, which pulls nothing.
//
// Everything created here carries the label dev.runbook.test=ID(), a
// random value per test process, so that leftovers of a killed run can be
// found (`docker ps -a --filter label=dev.runbook.test`) and so that tests
// can filter on it. Only _test.go files import this package.
package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Label marks everything the tests create; its value is ID().
const Label = "dev.runbook.test"

// RefLabel holds the reference an image was built for, which makes every
// built image distinct (and lets a test filter on one of them).
const RefLabel = "dev.runbook.test.ref"

// callTimeout bounds each call the helpers make to the engine.
const callTimeout = 60 * time.Second

var testID = sync.OnceValue(func() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
})

// ID is the random value of Label for this test process.
func ID() string { return testID() }

// Name returns a name unique to this test process for images, containers
// and volumes: runbook-test-ID-suffix (suffix must be lower case for an
// image reference).
func Name(suffix string) string { return "runbook-test-" + ID() + "-" + suffix }

// Labels returns the labels everything created by the tests carries.
func Labels() map[string]string { return map[string]string{Label: ID()} }

// Client returns a client of the engine the environment names (DOCKER_HOST,
// else the default socket), after a ping. Without an engine the test is
// skipped, loudly, unless CI=true, where it fails: CI must not pass by
// skipping every Docker test.
func Client(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.New(client.FromEnv)
	host := client.DefaultDockerHost
	if err == nil {
		host = cli.DaemonHost()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Docker engine at %s, and CI=true requires one: %v", host, err)
		}
		t.Skipf("SKIP: no Docker engine at %s (%v): the Docker tests did not run", host, err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// appSource is the program inside the test image.
const appSource = `package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "-health":
			health()
		case "-exit":
			code, _ := strconv.Atoi(os.Args[2])
			fmt.Println("exiting with status", code)
			os.Exit(code)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; os.Exit(0) }()
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}

func health() {
	if os.Getenv("APP_UNHEALTHY") != "" {
		fmt.Println("unhealthy on purpose")
		os.Exit(1)
	}
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://127.0.0.1:8080/")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	resp.Body.Close()
	fmt.Println("ok")
	os.Exit(0)
}
`

var appBinary = sync.OnceValues(buildApp)

// buildApp compiles appSource for the engine's machine (this one: the
// tests reach the engine over a local socket) and returns the binary.
func buildApp() ([]byte, error) {
	dir, err := os.MkdirTemp("", "dockertest-app-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	files := map[string]string{"main.go": appSource, "go.mod": "module app\n\ngo 1.22\n"}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", "app", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH,
		"GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the test image's program: %v\n%s", err, out)
	}
	return os.ReadFile(filepath.Join(dir, "app"))
}

// changes are the image's configuration, in Dockerfile syntax. The labels
// make each image distinct (its config differs), so that removing one
// never touches another test's.
func changes(ref string) []string {
	return []string{
		fmt.Sprintf("LABEL %q=%q %q=%q", Label, ID(), RefLabel, ref),
		`HEALTHCHECK --interval=1s --timeout=3s --retries=3 CMD ["/app", "-health"]`,
		"EXPOSE 8080",
		`CMD ["/app"]`,
	}
}

// BuildImage makes the test image, tags it ref and returns its ID. It is
// an import of a one-file root file system with the configuration a
// Dockerfile would give (FROM scratch, COPY app /app, LABEL, HEALTHCHECK,
// CMD): one call of a few milliseconds, where the legacy builder takes
// seconds per image. The image (every tag of it) is removed when the test
// ends.
func BuildImage(t testing.TB, cli *client.Client, ref string) string {
	t.Helper()
	app, err := appBinary()
	if err != nil {
		t.Fatal(err)
	}
	rootfs, err := tarOf(map[string][]byte{"app": app})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	res, err := cli.ImageImport(ctx, client.ImageImportSource{Source: rootfs, SourceName: "-"}, ref,
		client.ImageImportOptions{Changes: changes(ref), Message: "runbook test image"})
	if err != nil {
		t.Fatalf("importing %s: %v", ref, err)
	}
	defer func() { _ = res.Close() }()
	if err := readStream(res); err != nil {
		t.Fatalf("importing %s: %v", ref, err)
	}
	ins, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatalf("inspecting %s after its import: %v", ref, err)
	}
	id := ins.ID
	t.Cleanup(func() { RemoveImage(t, cli, id) })
	return id
}

// RemoveImage removes an image by reference or ID, with every tag (force)
// and its untagged parents; an image already gone is fine.
func RemoveImage(t testing.TB, cli *client.Client, image string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	_, err := cli.ImageRemove(ctx, image, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	if err != nil && !isNotFound(err) {
		t.Errorf("removing image %s: %v", image, err)
	}
}

// tarOf is a tar of files at its root, executable.
func tarOf(files map[string][]byte) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		hdr := &tar.Header{Name: name, Mode: 0o755, Size: int64(len(data)), ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// readStream reads the engine's JSON message stream (of an import) to its
// end and returns the first error it carries.
func readStream(r io.Reader) error {
	dec := json.NewDecoder(r)
	var last string
	for {
		var m struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		err := dec.Decode(&m)
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return fmt.Errorf("reading the engine's stream: %w (last line: %s)", err, last)
		case m.ErrorDetail != nil && m.ErrorDetail.Message != "":
			return errors.New(m.ErrorDetail.Message)
		case m.Error != "":
			return errors.New(m.Error)
		}
		if s := strings.TrimSpace(m.Stream); s != "" {
			last = s
		}
	}
}

// ContainerOption changes the configuration RunContainer creates a
// container with.
type ContainerOption func(*container.Config)

// WithoutHealthcheck disables the image's HEALTHCHECK.
func WithoutHealthcheck(c *container.Config) {
	c.Healthcheck = &container.HealthConfig{Test: []string{"NONE"}}
}

// Unhealthy makes every health probe fail, saying "unhealthy on purpose".
func Unhealthy(c *container.Config) { c.Env = append(c.Env, "APP_UNHEALTHY=1") }

// ExitWith makes the container's program exit at once with code.
func ExitWith(code int) ContainerOption {
	return func(c *container.Config) { c.Cmd = []string{"/app", "-exit", fmt.Sprint(code)} }
}

// RunContainer creates and starts a container of image named name and
// returns its ID. It is force-removed, with its anonymous volumes, when the
// test ends.
func RunContainer(t testing.TB, cli *client.Client, image, name string, opts ...ContainerOption) string {
	t.Helper()
	cfg := &container.Config{Image: image, Labels: Labels()}
	for _, o := range opts {
		o(cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, Name: name})
	if err != nil {
		t.Fatalf("creating container %s of %s: %v", name, image, err)
	}
	id := res.ID
	t.Cleanup(func() { RemoveContainer(t, cli, id) })
	if _, err := cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("starting container %s: %v", name, err)
	}
	return id
}

// RemoveContainer force-removes a container and its anonymous volumes; a
// container already gone is fine.
func RemoveContainer(t testing.TB, cli *client.Client, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	_, err := cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !isNotFound(err) {
		t.Errorf("removing container %s: %v", id, err)
	}
}

// CreateVolume creates a local volume named name with the test labels and
// extra ones; it is removed when the test ends.
func CreateVolume(t testing.TB, cli *client.Client, name string, labels map[string]string) {
	t.Helper()
	all := Labels()
	for k, v := range labels {
		all[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Driver: "local", Labels: all}); err != nil {
		t.Fatalf("creating volume %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		if _, err := cli.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: true}); err != nil && !isNotFound(err) {
			t.Errorf("removing volume %s: %v", name, err)
		}
	})
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
