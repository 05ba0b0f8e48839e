package docker_test

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/dockertest"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// The seed's transfer: save an image to a tar, remove it, load the tar:
// the image is back with the same ID.
func TestImageSaveRemoveLoad(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ref := dockertest.Name("roundtrip") + ":1"
	id := dockertest.BuildImage(t, h.cli, ref)
	path := filepath.Join(t.TempDir(), "out", "app.tar")

	res := h.apply("docker.image_save", obj{"images": []string{ref}, "path": path})
	sum, size := fileDigest(t, path)
	if res.str("path") != path || res.str("sha256") != sum || res.out.GetAttr("size").AsBigFloat().String() != size {
		t.Errorf("image_save outputs %#v; the file has sha256 %s, %s bytes", res.out, sum, size)
	}
	if ids := strs(res.out.GetAttr("ids")); len(ids) != 1 || ids[0] != id {
		t.Errorf("image_save ids %v, want [%s]", ids, id)
	}
	if refs := strs(res.out.GetAttr("references")); len(refs) != 1 || refs[0] != ref {
		t.Errorf("image_save references %v, want [%s]", refs, ref)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("archive mode %v, want 0600", fi.Mode())
	}
	// The daemon does not say how large the archive will be.
	if ev := lastProgress(res.events); ev.Unit != "bytes" || ev.Total != 0 || val(int(ev.Done)).AsBigFloat().String() != size {
		t.Errorf("image_save's last progress %+v, want %s bytes of an unknown total", ev, size)
	}
	if names := archiveTags(t, path); len(names) != 1 || names[0] != ref {
		t.Errorf("the archive's manifest names %v", names)
	}
	resp := h.wantCheck("docker.image_save", obj{"images": []string{ref}, "path": path}, time.Now(), provider.Applied)
	if str(resp.Outputs, "sha256") != sum {
		t.Errorf("Check image_save outputs %#v", resp.Outputs)
	}

	res = h.apply("docker.image_remove", obj{"image": ref})
	if !contains(strs(res.out.GetAttr("deleted")), id) || !contains(strs(res.out.GetAttr("untagged")), ref) {
		t.Errorf("image_remove outputs %#v", res.out)
	}
	if _, err := h.cli.ImageInspect(t.Context(), id); err == nil {
		t.Fatalf("image %s is still there after image_remove", id)
	}
	h.wantCheck("docker.image_remove", obj{"image": ref}, time.Now(), provider.Applied)
	h.wantCheck("docker.image_load", obj{"path": path}, time.Now(), provider.NotApplied)

	res = h.apply("docker.image_load", obj{"path": path})
	imgs := objects(res.out.GetAttr("images"))
	if len(imgs) != 1 || imgs[0]["reference"] != ref || imgs[0]["id"] != id {
		t.Errorf("image_load images %v, want [{%s %s}]", imgs, ref, id)
	}
	ins, err := h.cli.ImageInspect(t.Context(), ref)
	if err != nil || ins.ID != id {
		t.Errorf("after image_load, %s is %s (%v); want the saved ID %s", ref, ins.ID, err, id)
	}
	if ev := lastProgress(res.events); ev.Unit != "bytes" || ev.Total != ev.Done || val(int(ev.Done)).AsBigFloat().String() != size {
		t.Errorf("image_load's last progress %+v, want %s of %s bytes", ev, size, size)
	}
	resp = h.wantCheck("docker.image_load", obj{"path": path}, time.Now(), provider.Applied)
	if got := objects(resp.Outputs.GetAttr("images")); len(got) != 1 || got[0]["id"] != id {
		t.Errorf("Check image_load outputs %v", got)
	}
	// Loading twice is harmless.
	h.apply("docker.image_load", obj{"path": path, "quiet": false})
	h.wantCheck("docker.image_remove", obj{"image": ref}, time.Now(), provider.NotApplied)
}

// Two references into one archive; then one by reference and one by ID.
// Check wants every requested image in the manifest, by tag or by ID
// (prefix).
func TestImageSaveTwoReferences(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a, b := dockertest.Name("two-a")+":1", dockertest.Name("two-b")+":2"
	idA := dockertest.BuildImage(t, h.cli, a)
	idB := dockertest.BuildImage(t, h.cli, b)
	dir := t.TempDir()

	both := filepath.Join(dir, "both.tar")
	in := obj{"images": []string{a, b}, "path": both, "mode": "0644"}
	res := h.apply("docker.image_save", in)
	if ids := strs(res.out.GetAttr("ids")); len(ids) != 2 || !contains(ids, idA) || !contains(ids, idB) {
		t.Errorf("ids %v, want %s and %s", ids, idA, idB)
	}
	if names := archiveTags(t, both); len(names) != 2 || !contains(names, a) || !contains(names, b) {
		t.Errorf("the archive's manifest names %v, want %s and %s", names, a, b)
	}
	if refs := strs(res.out.GetAttr("references")); len(refs) != 2 {
		t.Errorf("references %v", refs)
	}
	if fi, _ := os.Stat(both); fi.Mode().Perm() != 0o644 {
		t.Errorf("archive mode %v, want 0644", fi.Mode())
	}
	h.wantCheck("docker.image_save", in, time.Now(), provider.Applied)
	h.wantCheck("docker.image_save", obj{"images": []string{b}, "path": both}, time.Now(), provider.Applied)
	h.wantCheck("docker.image_save", obj{"images": []string{a, dockertest.Name("other") + ":1"}, "path": both}, time.Now(), provider.NotApplied)
	h.wantCheck("docker.image_save", obj{"images": []string{a}, "path": both + ".missing"}, time.Now(), provider.NotApplied)
	if err := os.WriteFile(both+".junk", []byte("not a tar"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.wantCheck("docker.image_save", obj{"images": []string{a}, "path": both + ".junk"}, time.Now(), provider.NotApplied)

	// An image saved by ID goes without its tags, as with docker save.
	mixed := filepath.Join(dir, "mixed.tar")
	h.apply("docker.image_save", obj{"images": []string{a, idB}, "path": mixed})
	if names := archiveTags(t, mixed); len(names) != 1 || names[0] != a {
		t.Errorf("the archive's manifest names %v, want [%s]", names, a)
	}
	h.wantCheck("docker.image_save", obj{"images": []string{idB[7:], idA[:19]}, "path": mixed}, time.Now(), provider.Applied)
	h.wantCheck("docker.image_save", obj{"images": []string{b}, "path": mixed}, time.Now(), provider.NotApplied)

	// Loaded again (harmless): the untagged one is reported by ID.
	res = h.apply("docker.image_load", obj{"path": mixed})
	want := map[string]string{a: idA, "": idB}
	imgs := objects(res.out.GetAttr("images"))
	for _, img := range imgs {
		if want[img["reference"]] != img["id"] {
			t.Errorf("image_load images %v, want %v", imgs, want)
		}
	}
	if len(imgs) != 2 || len(strs(res.out.GetAttr("references"))) != 1 || len(strs(res.out.GetAttr("ids"))) != 2 {
		t.Errorf("image_load outputs %#v", res.out)
	}
	h.wantCheck("docker.image_load", obj{"path": mixed}, time.Now(), provider.Applied)
}

// image_list filters by label and reference, and flattens the tags.
func TestImageListFilters(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a, b := dockertest.Name("list-a")+":1", dockertest.Name("list-b")+":1"
	idA := dockertest.BuildImage(t, h.cli, a)
	idB := dockertest.BuildImage(t, h.cli, b)

	res := h.apply("docker.image_list", obj{"filters": obj{"label": []string{dockertest.RefLabel + "=" + a}}})
	if ids := strs(res.out.GetAttr("ids")); len(ids) != 1 || ids[0] != idA {
		t.Errorf("label filter: ids %v, want [%s]", ids, idA)
	}
	img := res.out.GetAttr("images").Index(val(0))
	if str(img, "created") == "" || img.GetAttr("labels").Index(val(dockertest.Label)).AsString() != dockertest.ID() ||
		!contains(strs(img.GetAttr("repo_tags")), a) || img.GetAttr("repo_digests").LengthInt() != 0 {
		t.Errorf("image %#v", img)
	}
	if _, err := time.Parse(time.RFC3339, str(img, "created")); err != nil {
		t.Errorf("created: %v", err)
	}

	res = h.apply("docker.image_list", obj{"filters": obj{"reference": []string{dockertest.Name("list-b") + ":*"}}})
	if ids := strs(res.out.GetAttr("ids")); len(ids) != 1 || ids[0] != idB {
		t.Errorf("reference filter: ids %v, want [%s]", ids, idB)
	}
	res = h.apply("docker.image_list", obj{"filters": obj{
		"label":     []string{dockertest.Label + "=" + dockertest.ID()},
		"reference": []string{dockertest.Name("list-*")},
		"dangling":  false,
	}})
	if refs := strs(res.out.GetAttr("references")); len(refs) != 2 || refs[0] != a || refs[1] != b {
		t.Errorf("references %v, want [%s %s]", refs, a, b)
	}
	res = h.apply("docker.image_list", obj{"filters": obj{"label": []string{dockertest.Label + "=no-such-run"}}})
	if res.out.GetAttr("images").LengthInt() != 0 || res.out.GetAttr("references").IsNull() {
		t.Errorf("no match: %#v", res.out)
	}
}

// image_tag points a new reference at the image; Check compares IDs.
func TestImageTag(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	src := dockertest.Name("tag-src") + ":1"
	id := dockertest.BuildImage(t, h.cli, src)
	target := dockertest.Name("tag-dst") + ":2"
	in := obj{"source": src, "target": target}

	h.wantCheck("docker.image_tag", in, time.Now(), provider.NotApplied)
	res := h.apply("docker.image_tag", in)
	if res.str("id") != id || res.str("target") != target {
		t.Errorf("image_tag outputs %#v", res.out)
	}
	h.wantCheck("docker.image_tag", in, time.Now(), provider.Applied)
	h.apply("docker.image_tag", in) // again: the same

	// Removing one of two tags only untags.
	res = h.apply("docker.image_remove", obj{"image": target})
	if len(strs(res.out.GetAttr("deleted"))) != 0 || !contains(strs(res.out.GetAttr("untagged")), target) {
		t.Errorf("image_remove of a second tag: %#v", res.out)
	}
	if _, err := h.cli.ImageInspect(t.Context(), src); err != nil {
		t.Errorf("the source went with its second tag: %v", err)
	}
}

// A file that is not an image archive fails the load with the daemon's
// message, and not retryably: a retry would load the same file.
func TestImageLoadBadArchive(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	path := filepath.Join(t.TempDir(), "junk.tar")
	if err := os.WriteFile(path, []byte("this is not a tar archive, whatever its name says\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pe := h.fail("docker.image_load", obj{"path": path})
	wantError(t, pe, false, "docker.image_load: loading "+path+": ")
	pe = h.fail("docker.image_load", obj{"path": path + ".missing"})
	wantError(t, pe, false, "no such file or directory")
}

func fileDigest(t *testing.T, path string) (string, string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)), val(int(n)).AsBigFloat().String()
}

// archiveTags reads the tags of a docker save archive's manifest.json
// independently of the provider's reader.
func archiveTags(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s has no manifest.json: %v", path, err)
		}
		if hdr.Name != "manifest.json" {
			continue
		}
		var m []struct{ RepoTags []string }
		if err := json.NewDecoder(tr).Decode(&m); err != nil {
			t.Fatal(err)
		}
		var tags []string
		for _, e := range m {
			tags = append(tags, e.RepoTags...)
		}
		return tags
	}
}

func lastProgress(events []provider.Event) provider.Event {
	var last provider.Event
	for _, ev := range events {
		if ev.Kind == provider.EventProgress {
			last = ev
		}
	}
	return last
}

func hasProgress(events []provider.Event) bool {
	for _, ev := range events {
		if ev.Kind == provider.EventProgress && ev.Unit == "bytes" && ev.Done > 0 {
			return true
		}
	}
	return false
}

// Engine 20.10 announces an untagged image only when the archive's last
// image has no tag either: image_load reads the archive's manifest on the
// way to the daemon and reports it anyway.
func TestImageLoadUntaggedFirst(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a, b := dockertest.Name("order-a")+":1", dockertest.Name("order-b")+":1"
	idA := dockertest.BuildImage(t, h.cli, a)
	idB := dockertest.BuildImage(t, h.cli, b)
	dir := t.TempDir()
	saved := filepath.Join(dir, "saved.tar")
	h.apply("docker.image_save", obj{"images": []string{a, idB}, "path": saved})
	// The untagged image first, the tagged one last.
	path := filepath.Join(dir, "untagged-first.tar")
	rewriteManifest(t, saved, path, func(m []map[string]any) {
		sort.SliceStable(m, func(i, j int) bool { return m[i]["RepoTags"] == nil && m[j]["RepoTags"] != nil })
	})
	dockertest.RemoveImage(t, h.cli, idB)

	res := h.apply("docker.image_load", obj{"path": path})
	imgs := objects(res.out.GetAttr("images"))
	want := map[string]string{a: idA, "": idB}
	for _, img := range imgs {
		if want[img["reference"]] != img["id"] {
			t.Errorf("image %v, want one of %v", img, want)
		}
	}
	if len(imgs) != 2 {
		t.Errorf("image_load images %v, want %v", imgs, want)
	}
	if _, err := h.cli.ImageInspect(t.Context(), idB); err != nil {
		t.Errorf("%s was not loaded: %v", idB, err)
	}
}

// rewriteManifest copies a docker save archive, changing its manifest.json.
func rewriteManifest(t *testing.T, src, dst string, change func([]map[string]any)) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	tr, tw := tar.NewReader(in), tar.NewWriter(out)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name == "manifest.json" {
			var m []map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			change(m)
			data, _ = json.Marshal(m)
			hdr.Size = int64(len(data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}
