// Package validate holds tests that decode the deploy artifacts (Helm chart,
// Grafana dashboard) strictly into the types of the systems that read them.
package validate
