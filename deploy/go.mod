// The deploy artifacts' validation: the Kubernetes, Prometheus Operator,
// Helm and Grafana types it decodes into stay out of the exporter's go.mod.
module github.com/quotaexporter/quota_exporter/deploy

go 1.26.8

require (
	github.com/grafana/grafana-foundation-sdk/go v0.0.22
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
