package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fault injector is for tests and benchmarks; the binary links package
// simulator for --demo, but not the faults put in front of it.
func TestBinaryLinksNoFaultInjector(t *testing.T) {
	const module = "github.com/quotaexporter/quota_exporter"
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.True(t, slices.Contains(deps, module+"/simulator"), "the list is the binary's: %s", out)
	assert.False(t, slices.Contains(deps, module+"/simulator/faults"), "the binary links the fault injector")
}
