package core_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/core"
)

func TestSleep(t *testing.T) {
	p := core.New(core.Options{})
	tests := []struct {
		duration string
		wantErr  string
	}{
		{"20ms", ""},
		{"0s", ""},
		{"soon", "not a duration"},
		{"-1s", "negative"},
		{"5", "not a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.duration, func(t *testing.T) {
			r := request(t, "sleep", map[string]cty.Value{"duration": cty.StringVal(tt.duration)})
			start := time.Now()
			out, err := apply(t, p, r)
			if tt.wantErr != "" {
				wantErr(t, err, false, tt.wantErr)
				_, perr := plan(t, p, r)
				wantErr(t, perr, false, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d, _ := time.ParseDuration(tt.duration)
			if time.Since(start) < d {
				t.Errorf("returned after %s, before %s", time.Since(start), d)
			}
			if !out.RawEquals(cty.EmptyObjectVal) {
				t.Errorf("outputs %#v", out)
			}
		})
	}
}

func TestSleepCancelAndPlan(t *testing.T) {
	p := core.New(core.Options{})
	r := request(t, "sleep", map[string]cty.Value{"duration": cty.StringVal("1h")})

	start := time.Now()
	out, err := plan(t, p, r)
	if err != nil || !out.RawEquals(cty.EmptyObjectVal) {
		t.Fatalf("Plan = %#v, %v", out, err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("Plan slept")
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = p.Apply(ctx, r)
	wantErr(t, err, false, "cancelled")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%v is not context.Canceled", err)
	}

	// A deadline (an attempt timeout) is retryable.
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = p.Apply(ctx, r)
	wantErr(t, err, true, "timed out")
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
}
