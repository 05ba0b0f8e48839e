package docker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// signalAPI is the first API version whose stop and restart take a
// signal (Engine 22.06); older daemons ignore the parameter silently.
const signalAPI = "1.42"

// Container is a container as container_list outputs it.
type Container struct {
	ID      string            `cty:"id"`
	Names   []string          `cty:"names" help:"Without the leading slash."`
	Image   string            `cty:"image" help:"The image as the container was created from it (a reference or an ID)."`
	ImageID string            `cty:"image_id"`
	State   string            `cty:"state" help:"created, running, paused, restarting, removing, exited or dead."`
	Status  string            `cty:"status" help:"The daemon's phrase: \"Up 2 hours (healthy)\"."`
	Labels  map[string]string `cty:"labels"`
	Created string            `cty:"created" help:"RFC 3339, UTC."`
}

// ContainerListIn are container_list's inputs.
type ContainerListIn struct {
	All     bool                `cty:"all" help:"Include stopped containers (docker ps -a)."`
	Filters map[string][]string `cty:"filters" help:"The daemon's filters, each a list of values: name, label (\"key\" or \"key=value\"), status, ancestor, id, network, volume, health..."`
}

// ContainerListOut are container_list's outputs.
type ContainerListOut struct {
	Containers []Container `cty:"containers"`
	IDs        []string    `cty:"ids"`
	Names      []string    `cty:"names" help:"Each container's first name."`
}

// ContainerIn is the input of the actions that take only a container.
type ContainerIn struct {
	Container string `cty:"container" runbook:"required" help:"The container's name or ID."`
}

// ContainerStopIn are the inputs of container_stop and container_restart.
type ContainerStopIn struct {
	Container   string `cty:"container" runbook:"required" help:"The container's name or ID."`
	Timeout     string `cty:"timeout" help:"How long the call may take, such as \"30s\" (also the step's timeout). The daemon waits grace_period, or else timeout less a quarter (at most 5s), before it kills the container."`
	GracePeriod string `cty:"grace_period" help:"How long the daemon waits after the stop signal before SIGKILL (docker stop -t), whole seconds; less than timeout. Unset: derived from timeout, else the container's own stop timeout (10s by default)."`
	Signal      string `cty:"signal" help:"Stop signal instead of the container's own (SIGTERM by default), such as \"SIGINT\"; needs API 1.42 (Engine 22.06)."`
}

// ContainerStartIn are container_start's inputs.
type ContainerStartIn struct {
	Container string `cty:"container" runbook:"required" help:"The container's name or ID."`
	Timeout   string `cty:"timeout" help:"How long the call may take, such as \"30s\" (also the step's timeout)."`
}

// ContainerOut is a container's state, the output of inspect, stop, start,
// restart and wait_healthy.
type ContainerOut struct {
	ID           string            `cty:"id"`
	Name         string            `cty:"name" help:"Without the leading slash."`
	Image        string            `cty:"image" help:"The image as the container was created from it."`
	ImageID      string            `cty:"image_id"`
	State        string            `cty:"state" help:"created, running, paused, restarting, removing, exited or dead."`
	Running      bool              `cty:"running"`
	ExitCode     int               `cty:"exit_code"`
	Health       string            `cty:"health" help:"starting, healthy or unhealthy; empty without a healthcheck."`
	HealthOutput string            `cty:"health_output" help:"Output of the last health probe."`
	StartedAt    string            `cty:"started_at" help:"RFC 3339; empty if never started."`
	FinishedAt   string            `cty:"finished_at" help:"RFC 3339; empty if never stopped."`
	RestartCount int               `cty:"restart_count"`
	Labels       map[string]string `cty:"labels"`
}

func (d *docker) registerContainers(p *sdk.Provider) {
	p.Action("container_list", sdk.Action[ContainerListIn, ContainerListOut]{
		Description: "List containers (GET /containers/json), as docker ps does.",
		Idempotent:  true,
		Apply: func(ctx context.Context, in ContainerListIn, _ sdk.Reporter) (ContainerListOut, error) {
			return d.containerList(ctx, in)
		},
		Plan: func(ctx context.Context, in ContainerListIn) (ContainerListOut, []string, error) {
			return planRead(d.containerList(ctx, in))
		},
	})
	p.Action("container_inspect", sdk.Action[ContainerIn, ContainerOut]{
		Description: "Read a container's state (GET /containers/{id}/json); an unknown container fails the step.",
		Idempotent:  true,
		Apply: func(ctx context.Context, in ContainerIn, _ sdk.Reporter) (ContainerOut, error) {
			return d.inspect(ctx, in.Container)
		},
		Plan: func(ctx context.Context, in ContainerIn) (ContainerOut, []string, error) {
			return planRead(d.inspect(ctx, in.Container))
		},
	})
	d.registerLifecycle(p)
}

func (d *docker) registerLifecycle(p *sdk.Provider) {
	p.Action("container_stop", sdk.Action[ContainerStopIn, ContainerOut]{
		Description: "Stop a container (POST /containers/{id}/stop): the stop signal, then SIGKILL after the grace period. A stopped container is success.",
		Mutating:    true, Idempotent: true,
		Apply: d.containerStop,
		Plan: func(_ context.Context, in ContainerStopIn) (ContainerOut, []string, error) {
			_, err := stopOptions(in)
			return ContainerOut{Running: false}, []string{"running"}, err
		},
		Check: func(ctx context.Context, in ContainerStopIn, _ time.Time) (sdk.CheckResult, ContainerOut, error) {
			return d.checkState(ctx, in.Container, func(o ContainerOut) bool { return !o.Running })
		},
	})
	p.Action("container_start", sdk.Action[ContainerStartIn, ContainerOut]{
		Description: "Start a container (POST /containers/{id}/start). A running container is success.",
		Mutating:    true, Idempotent: true,
		Apply: d.containerStart,
		Plan: func(_ context.Context, in ContainerStartIn) (ContainerOut, []string, error) {
			_, err := parseDuration("timeout", in.Timeout, 0)
			return ContainerOut{Running: true}, []string{"running"}, err
		},
		Check: func(ctx context.Context, in ContainerStartIn, _ time.Time) (sdk.CheckResult, ContainerOut, error) {
			return d.checkState(ctx, in.Container, func(o ContainerOut) bool { return o.Running })
		},
	})
	p.Action("container_restart", sdk.Action[ContainerStopIn, ContainerOut]{
		Description: "Restart a container (POST /containers/{id}/restart): stop it as container_stop does, then start it; a stopped container is started.",
		Mutating:    true,
		Apply:       d.containerRestart,
		Plan: func(_ context.Context, in ContainerStopIn) (ContainerOut, []string, error) {
			_, err := stopOptions(in)
			return ContainerOut{Running: true}, []string{"running"}, err
		},
		Check: d.containerRestartCheck,
	})
}

func (d *docker) containerList(ctx context.Context, in ContainerListIn) (ContainerListOut, error) {
	c, err := d.client()
	if err != nil {
		return ContainerListOut{}, err
	}
	res, err := c.ContainerList(ctx, client.ContainerListOptions{All: in.All, Filters: filtersOf(in.Filters)})
	if err != nil {
		return ContainerListOut{}, apiErr(c, "listing containers", err)
	}
	out := ContainerListOut{Containers: []Container{}, IDs: []string{}, Names: []string{}}
	for _, s := range res.Items {
		ct := Container{
			ID: s.ID, Names: []string{}, Image: s.Image, ImageID: s.ImageID, State: string(s.State),
			Status: s.Status, Labels: orEmptyMap(s.Labels), Created: unixTime(s.Created),
		}
		for _, n := range s.Names {
			ct.Names = append(ct.Names, strings.TrimPrefix(n, "/"))
		}
		out.Containers = append(out.Containers, ct)
		out.IDs = append(out.IDs, s.ID)
		if len(ct.Names) > 0 {
			out.Names = append(out.Names, ct.Names[0])
		}
	}
	return out, nil
}

func (d *docker) inspect(ctx context.Context, name string) (ContainerOut, error) {
	c, err := d.client()
	if err != nil {
		return ContainerOut{}, err
	}
	res, err := c.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return ContainerOut{}, apiErr(c, quote("container", name), err)
	}
	return containerOut(res.Container), nil
}

func containerOut(ct container.InspectResponse) ContainerOut {
	out := ContainerOut{ID: ct.ID, Name: strings.TrimPrefix(ct.Name, "/"), ImageID: ct.Image,
		RestartCount: ct.RestartCount, Labels: map[string]string{}}
	if ct.Config != nil {
		out.Image, out.Labels = ct.Config.Image, orEmptyMap(ct.Config.Labels)
	}
	if st := ct.State; st != nil {
		out.State, out.Running, out.ExitCode = string(st.Status), st.Running, st.ExitCode
		out.StartedAt, out.FinishedAt = apiTime(st.StartedAt), apiTime(st.FinishedAt)
		if h := st.Health; h != nil && h.Status != container.NoHealthcheck {
			out.Health = string(h.Status)
			if n := len(h.Log); n > 0 && h.Log[n-1] != nil {
				out.HealthOutput = strings.TrimSpace(h.Log[n-1].Output)
			}
		}
	}
	return out
}

// apiTime is a time the API gives, or "" for its zero time
// ("0001-01-01T00:00:00Z": never started, never stopped).
func apiTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.IsZero() || t.Year() <= 1 {
		return ""
	}
	return s
}

// stopOptions reads the timing inputs of stop and restart. The grace the
// daemon is given stays below timeout: timeout also bounds the step, and a
// daemon that kills at the very end of it would answer too late, failing a
// step whose restart went through.
func stopOptions(in ContainerStopIn) (stopTiming, error) {
	timeout, err := parseDuration("timeout", in.Timeout, 0)
	if err != nil {
		return stopTiming{}, err
	}
	grace, err := parseDuration("grace_period", in.GracePeriod, -1)
	if err != nil {
		return stopTiming{}, err
	}
	if grace >= 0 && timeout > 0 && grace >= timeout {
		return stopTiming{}, sdk.AttributeError("grace_period", fmt.Errorf("grace_period %s must be less than timeout %s: the daemon would still be waiting when the step times out", grace, timeout))
	}
	if grace < 0 && timeout > 0 {
		grace = timeout - min(timeout/4, 5*time.Second)
	}
	st := stopTiming{timeout: timeout}
	if grace >= 0 {
		secs := int(grace / time.Second)
		st.grace = &secs
	}
	return st, nil
}

type stopTiming struct {
	timeout time.Duration // 0: no bound but the step's
	grace   *int          // seconds; nil: the container's own
}

// bound applies the call's timeout to ctx.
func (st stopTiming) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if st.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, st.timeout)
}

// checkSignal refuses a signal the daemon would ignore.
func checkSignal(ctx context.Context, c *client.Client, signal string) error {
	if signal == "" {
		return nil
	}
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return apiErr(c, "ping", err)
	}
	if v := c.ClientVersion(); versions.LessThan(v, signalAPI) {
		return sdk.AttributeError("signal", fmt.Errorf("signal needs API %s (Engine 22.06) or later; the daemon at %s speaks %s", signalAPI, c.DaemonHost(), v))
	}
	return nil
}

func (d *docker) containerStop(ctx context.Context, in ContainerStopIn, r sdk.Reporter) (ContainerOut, error) {
	c, err := d.client()
	if err != nil {
		return ContainerOut{}, err
	}
	st, err := stopOptions(in)
	if err != nil {
		return ContainerOut{}, err
	}
	ctx, cancel := st.bound(ctx)
	defer cancel()
	if err := checkSignal(ctx, c, in.Signal); err != nil {
		return ContainerOut{}, err
	}
	// A stopped container answers 304, which the client takes as success.
	if _, err := c.ContainerStop(ctx, in.Container, client.ContainerStopOptions{Timeout: st.grace, Signal: in.Signal}); err != nil {
		return ContainerOut{}, apiErr(c, quote("container", in.Container), err)
	}
	return d.after(ctx, in.Container, "stopped", r)
}

func (d *docker) containerStart(ctx context.Context, in ContainerStartIn, r sdk.Reporter) (ContainerOut, error) {
	c, err := d.client()
	if err != nil {
		return ContainerOut{}, err
	}
	timeout, err := parseDuration("timeout", in.Timeout, 0)
	if err != nil {
		return ContainerOut{}, err
	}
	ctx, cancel := stopTiming{timeout: timeout}.bound(ctx)
	defer cancel()
	// A running container answers 304, which the client takes as success.
	if _, err := c.ContainerStart(ctx, in.Container, client.ContainerStartOptions{}); err != nil {
		return ContainerOut{}, apiErr(c, quote("container", in.Container), err)
	}
	return d.after(ctx, in.Container, "started", r)
}

func (d *docker) containerRestart(ctx context.Context, in ContainerStopIn, r sdk.Reporter) (ContainerOut, error) {
	c, err := d.client()
	if err != nil {
		return ContainerOut{}, err
	}
	st, err := stopOptions(in)
	if err != nil {
		return ContainerOut{}, err
	}
	ctx, cancel := st.bound(ctx)
	defer cancel()
	if err := checkSignal(ctx, c, in.Signal); err != nil {
		return ContainerOut{}, err
	}
	if _, err := c.ContainerRestart(ctx, in.Container, client.ContainerRestartOptions{Timeout: st.grace, Signal: in.Signal}); err != nil {
		return ContainerOut{}, apiErr(c, quote("container", in.Container), err)
	}
	return d.after(ctx, in.Container, "restarted", r)
}

// after reads the state a lifecycle call left and logs it.
func (d *docker) after(ctx context.Context, name, did string, r sdk.Reporter) (ContainerOut, error) {
	out, err := d.inspect(ctx, name)
	if err != nil {
		// The change is made: a retry must not make it again because
		// this read failed.
		return ContainerOut{}, fmt.Errorf("container %q was %s, but reading its state failed: %w", name, did, unretryable(err))
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("container %s %s: %s", name, did, out.State))
	return out, nil
}

// unretryable strips the retryable mark, keeping the message.
func unretryable(err error) error { return &apiError{msg: err.Error(), err: nil} }

// checkState: applied when the container is in the state the action
// leaves it in.
func (d *docker) checkState(ctx context.Context, name string, done func(ContainerOut) bool) (sdk.CheckResult, ContainerOut, error) {
	out, err := d.inspect(ctx, name)
	switch {
	case err != nil:
		return sdk.Unknown, ContainerOut{}, err
	case done(out):
		return sdk.Applied, out, nil
	}
	return sdk.NotApplied, ContainerOut{}, nil
}

// containerRestartCheck: applied when the container runs and was started
// after the interrupted attempt began. A stopped one, or one running since
// before, is restarted again. (The daemon's clock against this host's: a
// skew larger than the restart's duration misleads it.)
func (d *docker) containerRestartCheck(ctx context.Context, in ContainerStopIn, started time.Time) (sdk.CheckResult, ContainerOut, error) {
	if started.IsZero() {
		return sdk.Unknown, ContainerOut{}, nil
	}
	out, err := d.inspect(ctx, in.Container)
	if err != nil {
		return sdk.Unknown, ContainerOut{}, err
	}
	at, perr := time.Parse(time.RFC3339Nano, out.StartedAt)
	if out.Running && perr == nil && at.After(started) {
		return sdk.Applied, out, nil
	}
	return sdk.NotApplied, ContainerOut{}, nil
}
