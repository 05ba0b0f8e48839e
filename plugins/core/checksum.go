package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/provider"
)

type checksumArgs struct {
	path string
	want string // expected digest, lower-case hex; "" when not set
}

func parseChecksum(c *call) (*checksumArgs, error) {
	a := &checksumArgs{}
	var ok bool
	if a.path, ok = c.str("path"); ok && a.path == "" {
		return nil, attrErr(cty.GetAttrPath("path"), "path is empty")
	}
	if s, ok := c.str("sha256"); ok {
		d, err := normalizeDigest(s)
		if err != nil {
			return nil, attrErr(cty.GetAttrPath("sha256"), "sha256: %s", err)
		}
		a.want = d
	}
	return a, nil
}

// normalizeDigest accepts a hex sha256 digest in either case, optionally
// written "sha256:HEX".
func normalizeDigest(s string) (string, error) {
	d := strings.ToLower(strings.TrimSpace(s))
	d = strings.TrimPrefix(d, "sha256:")
	if b, err := hex.DecodeString(d); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("%q is not a sha256 digest (64 hexadecimal digits)", s)
	}
	return d, nil
}

// planChecksum computes the digest: reading a file has no side effects.
// When the file is missing or unreadable, or does not match yet, it may be
// an earlier step's job to produce it, so the outputs are unknown and a
// warning says why, instead of failing the plan.
func planChecksum(ctx context.Context, c *call) (cty.Value, error) {
	a, err := parseChecksum(c)
	if err != nil {
		return cty.NilVal, err
	}
	if !c.known("path") || !c.known("sha256") {
		return unknownOutputs(c), nil
	}
	sum, size, err := hashFile(ctx, c, a.path, "path")
	if err != nil {
		if ctx.Err() != nil {
			return cty.NilVal, err
		}
		c.log("warn", "checksum of %s not known until apply: %s", a.path, err)
		return unknownOutputs(c), nil
	}
	if a.want != "" && sum != a.want {
		c.log("warn", "%s has sha256 %s, expected %s: unless an earlier step replaces it, apply will fail", a.path, sum, a.want)
		return unknownOutputs(c), nil
	}
	return checksumOutputs(sum, size), nil
}

func applyChecksum(ctx context.Context, c *call) (cty.Value, error) {
	a, err := parseChecksum(c)
	if err != nil {
		return cty.NilVal, err
	}
	sum, size, err := hashFile(ctx, c, a.path, "path")
	if err != nil {
		return cty.NilVal, err
	}
	if a.want != "" && sum != a.want {
		return cty.NilVal, attrErr(cty.GetAttrPath("sha256"), "checksum mismatch for %s: expected sha256 %s, got %s (%d bytes)", a.path, a.want, sum, size)
	}
	return checksumOutputs(sum, size), nil
}

// checkChecksum: reading is side-effect free, so the answer is the digest
// itself, when the file is there and matches; otherwise NotApplied, and
// the re-run reports the error.
func checkChecksum(ctx context.Context, c *call, _ time.Time) (provider.CheckResult, cty.Value, error) {
	a, err := parseChecksum(c)
	if err != nil {
		return provider.Unknown, cty.NilVal, nil
	}
	sum, size, err := hashFile(ctx, c, a.path, "path")
	if err != nil {
		if ctx.Err() != nil {
			return provider.Unknown, cty.NilVal, err
		}
		return provider.NotApplied, cty.NilVal, nil
	}
	if a.want != "" && sum != a.want {
		return provider.NotApplied, cty.NilVal, nil
	}
	return provider.Applied, checksumOutputs(sum, size), nil
}

func checksumOutputs(sum string, size int64) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"sha256": cty.StringVal(sum),
		"size":   cty.NumberIntVal(size),
	})
}

// hashFile returns the sha256 and size of a regular file, reporting
// progress. attr names the input that holds path, for errors.
func hashFile(ctx context.Context, c *call, path, attr string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, attrErr(cty.GetAttrPath(attr), "%s", fileErr(err))
	}
	defer func() { _ = f.Close() }() // read-only
	fi, err := f.Stat()
	if err != nil {
		return "", 0, attrErr(cty.GetAttrPath(attr), "%s", fileErr(err))
	}
	if !fi.Mode().IsRegular() {
		return "", 0, attrErr(cty.GetAttrPath(attr), "%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	h := sha256.New()
	n, err := copyWithProgress(ctx, c, h, f, fi.Size())
	if err != nil {
		if ctx.Err() != nil {
			return "", 0, ctxError(ctx, "reading "+path)
		}
		return "", 0, attrErr(cty.GetAttrPath(attr), "reading %s: %s", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// fileErr words a file error; *PathError already names the file.
func fileErr(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) && errors.Is(err, os.ErrNotExist) {
		return pe.Path + " does not exist"
	}
	return err.Error()
}

// copyBuffer is the chunk size of file copies and hashes; progress is
// reported at most every progressStep bytes (or 1% of the total if more).
const (
	copyBuffer   = 256 << 10
	progressStep = 1 << 20
)

// copyWithProgress copies src to dst, checking ctx between chunks and
// sending progress events of total bytes.
func copyWithProgress(ctx context.Context, c *call, dst io.Writer, src io.Reader, total int64) (int64, error) {
	step := max(int64(progressStep), total/100)
	buf := make([]byte, copyBuffer)
	var done, reported int64
	for {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return done, err
			}
			done += int64(n)
			if done-reported >= step {
				reported = done
				c.progress(done, max(total, done), "bytes")
			}
		}
		if rerr == io.EOF {
			if reported != done || done == 0 {
				c.progress(done, max(total, done), "bytes")
			}
			return done, nil
		}
		if rerr != nil {
			return done, rerr
		}
	}
}
