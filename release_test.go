package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// On a cold build cache the four cross builds take minutes of CPU, so this
// test runs on demand (`make release-test`), not in every `go test`.
var releaseTest = flag.Bool("release", false, "cut a release in a fresh clone (TestReleaseInAFreshClone)")

// releasePlatforms are the platforms `make release` builds for.
var releasePlatforms = []string{"darwin-amd64", "darwin-arm64", "linux-amd64", "linux-arm64"}

// TestReleaseInAFreshClone cuts a release as a maintainer would, in a fresh
// clone of this repository's HEAD: four archives whose sums verify, each
// with the binary and its documents, and a binary that says which commit it
// was built from.
func TestReleaseInAFreshClone(t *testing.T) {
	if !*releaseTest {
		t.Skip("builds the binary for four platforms; run with -release (make release-test)")
	}
	for _, tool := range []string{"git", "make", "tar", "sha256sum"} {
		requireTool(t, tool)
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI runs in a git checkout: %v", err)
		}
		t.Skipf("not a git checkout: %v", err)
	}
	clone := filepath.Join(t.TempDir(), "quota_exporter")
	git(t, "", "clone", "--quiet", strings.TrimSpace(string(top)), clone)
	revision, version := git(t, clone, "rev-parse", "HEAD"), git(t, clone, "describe", "--tags", "--always", "--dirty")
	require.NotContains(t, version, "dirty")

	out, err := exec.Command("make", "-C", clone, "release").CombinedOutput()
	require.NoError(t, err, "%s", out)

	dist := filepath.Join(clone, "dist")
	var want []string
	for _, p := range releasePlatforms {
		want = append(want, "quota_exporter-"+version+"."+p+".tar.gz")
	}
	entries, err := os.ReadDir(dist)
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	assert.Equal(t, append(slices.Clone(want), "sha256sums.txt"), got)

	check := exec.Command("sha256sum", "--strict", "-c", "sha256sums.txt")
	check.Dir = dist
	out, err = check.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, archive := range want {
		assert.Contains(t, string(out), archive+": OK")
	}

	// Each archive holds one directory, as promu's do.
	platform := runtime.GOOS + "-" + runtime.GOARCH
	require.Contains(t, releasePlatforms, platform, "the test runs the binary built for its own platform")
	name := "quota_exporter-" + version + "." + platform
	listing, err := exec.Command("tar", "-tzf", filepath.Join(dist, name+".tar.gz")).Output()
	require.NoError(t, err)
	files := strings.Fields(string(listing))
	slices.Sort(files)
	assert.Equal(t, []string{name + "/", name + "/LICENSE", name + "/README.md", name + "/exporter.yml", name + "/quota_exporter"}, files)
	unpacked := t.TempDir()
	require.NoError(t, exec.Command("tar", "-xzf", filepath.Join(dist, name+".tar.gz"), "-C", unpacked).Run())
	out, err = exec.Command(filepath.Join(unpacked, name, "quota_exporter"), "--version").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "quota_exporter, version "+version+" ")
	assert.Contains(t, string(out), "revision: "+revision+")")

	// make docker takes the same version from git.
	out, err = exec.Command("make", "-C", clone, "-n", "docker").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "--build-arg VERSION="+version+" --build-arg REVISION="+revision+" --build-arg BRANCH=")

	// A change not committed marks the version, and so every archive.
	require.NoError(t, os.WriteFile(filepath.Join(clone, "README.md"), []byte("changed\n"), 0o644))
	out, err = exec.Command("make", "-C", clone, "-n", "release").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "dist/quota_exporter-"+version+"-dirty.linux-amd64.tar.gz")
}

// git runs git in dir and returns its output, trimmed.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

// Docker cannot run here, so this checks the chain that carries the version
// into the image: `make docker` passes git's version, revision and branch as
// build arguments, and the Dockerfile builds with `make build` and them.
func TestDockerBuildGetsTheVersion(t *testing.T) {
	requireTool(t, "make")
	out, err := exec.Command("make", "-n", "docker", "VERSION=v9.8.7", "REVISION=abc123", "BRANCH=main").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "docker build --build-arg VERSION=v9.8.7 --build-arg REVISION=abc123 --build-arg BRANCH=main")

	dockerfile, err := os.ReadFile("Dockerfile")
	require.NoError(t, err)
	for _, line := range []string{"ARG VERSION", "ARG REVISION", "ARG BRANCH", "RUN make build VERSION=${VERSION} REVISION=${REVISION} BRANCH=${BRANCH}"} {
		assert.Contains(t, string(dockerfile), line)
	}
}
