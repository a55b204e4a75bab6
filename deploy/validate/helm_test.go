package validate

import (
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/quotaexporter/quota_exporter/config"
)

const (
	chartDir    = "../helm/quota-exporter"
	alertsFile  = "../alerts.yml"
	releaseName = "quota-exporter"
	namespace   = "monitoring"
	operatorAPI = "monitoring.coreos.com/v1"
)

// TestMain quiets Helm's loader, which logs through the standard logger
// that files/alerts.yml is a symbolic link (on purpose: it is deploy/alerts.yml).
func TestMain(m *testing.M) {
	log.SetOutput(io.Discard)
	os.Exit(m.Run())
}

// kubeVersion is the oldest the chart supports (Chart.yaml's kubeVersion).
var kubeVersion = &chartutil.KubeVersion{Version: "v1.28.0", Major: "1", Minor: "28"}

// valueSets are the chart's defaults and each of its ci/*-values.yaml files.
func valueSets(t *testing.T) map[string]map[string]any {
	t.Helper()
	sets := map[string]map[string]any{"defaults": {}}
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		vals, err := chartutil.ReadValuesFile(f)
		require.NoError(t, err, f)
		sets[filepath.Base(f)] = vals.AsMap()
	}
	return sets
}

// rendered is one install of the chart: its objects by kind, decoded
// strictly into the API types, and the values in force.
type rendered struct {
	values          chartutil.Values
	statefulSets    []appsv1.StatefulSet
	services        []corev1.Service
	configMaps      []corev1.ConfigMap
	serviceAccounts []corev1.ServiceAccount
	pdbs            []policyv1.PodDisruptionBudget
	podMonitors     []monitoringv1.PodMonitor
	rules           []monitoringv1.PrometheusRule
}

func (r *rendered) kinds() []string {
	var kinds []string
	add := func(kind string, n int) {
		for range n {
			kinds = append(kinds, kind)
		}
	}
	add("ConfigMap", len(r.configMaps))
	add("PodDisruptionBudget", len(r.pdbs))
	add("PodMonitor", len(r.podMonitors))
	add("PrometheusRule", len(r.rules))
	add("Service", len(r.services))
	add("ServiceAccount", len(r.serviceAccounts))
	add("StatefulSet", len(r.statefulSets))
	return kinds
}

// render installs the chart on paper, in a cluster with or without the
// Prometheus Operator's API, and decodes every object strictly: a field the
// API type does not know is an error, as with `kubectl apply --validate=strict`.
func render(t *testing.T, ch *chart.Chart, vals map[string]any, withOperator bool) *rendered {
	t.Helper()
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = *kubeVersion
	if withOperator {
		caps.APIVersions = append(slices.Clone(caps.APIVersions), operatorAPI, operatorAPI+"/PodMonitor", operatorAPI+"/PrometheusRule")
	}
	opts := chartutil.ReleaseOptions{Name: releaseName, Namespace: namespace, IsInstall: true, Revision: 1}
	values, err := chartutil.ToRenderValues(ch, vals, opts, caps)
	require.NoError(t, err)
	files, err := engine.Render(ch, values)
	require.NoError(t, err)

	out := &rendered{values: values}
	for name, content := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		for _, doc := range releaseutil.SplitManifests(content) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			out.add(t, name, []byte(doc))
		}
	}
	return out
}

func (r *rendered) add(t *testing.T, file string, doc []byte) {
	t.Helper()
	var meta metav1.TypeMeta
	require.NoError(t, yaml.Unmarshal(doc, &meta), file)
	switch meta.Kind {
	case "StatefulSet":
		appendStrict(t, file, meta, doc, "apps/v1", &r.statefulSets)
	case "Service":
		appendStrict(t, file, meta, doc, "v1", &r.services)
	case "ConfigMap":
		appendStrict(t, file, meta, doc, "v1", &r.configMaps)
	case "ServiceAccount":
		appendStrict(t, file, meta, doc, "v1", &r.serviceAccounts)
	case "PodDisruptionBudget":
		appendStrict(t, file, meta, doc, "policy/v1", &r.pdbs)
	case "PodMonitor":
		appendStrict(t, file, meta, doc, operatorAPI, &r.podMonitors)
	case "PrometheusRule":
		appendStrict(t, file, meta, doc, operatorAPI, &r.rules)
	default:
		t.Fatalf("%s: kind %q has no API type in this test: add it", file, meta.Kind)
	}
}

// appendStrict decodes doc into a T, refusing any field T does not know,
// and appends it to list.
func appendStrict[T any](t *testing.T, file string, meta metav1.TypeMeta, doc []byte, apiVersion string, list *[]T) {
	t.Helper()
	require.Equal(t, apiVersion, meta.APIVersion, "%s: %s", file, meta.Kind)
	var o T
	require.NoError(t, yaml.UnmarshalStrict(doc, &o), "%s: %s", file, meta.Kind)
	*list = append(*list, o)
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	require.NoError(t, err)
	return ch
}

func TestChartLints(t *testing.T) {
	for name, vals := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			linter := lint.AllWithKubeVersion(chartDir, vals, namespace, kubeVersion)
			var problems []string
			for _, m := range linter.Messages {
				if m.Severity >= support.WarningSev {
					problems = append(problems, m.Error())
				}
			}
			require.Empty(t, problems)
		})
	}
}

func TestChartRendersValidObjects(t *testing.T) {
	ch := loadChart(t)
	for name, vals := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			r := render(t, ch, vals, true)
			checkStatefulSet(t, r)
			checkConfig(t, r)
			checkRules(t, r)

			wantKinds := []string{"ConfigMap", "Service", "StatefulSet"}
			if r.values.AsMap()["Values"].(chartutil.Values)["serviceAccount"].(map[string]any)["create"] == true {
				wantKinds = append(wantKinds, "ServiceAccount")
			}
			if value(t, r, "podDisruptionBudget.enabled") == true {
				wantKinds = append(wantKinds, "PodDisruptionBudget")
			}
			if value(t, r, "podMonitor.enabled") == true {
				wantKinds = append(wantKinds, "PodMonitor")
			}
			if value(t, r, "prometheusRule.enabled") == true {
				wantKinds = append(wantKinds, "PrometheusRule")
			}
			slices.Sort(wantKinds)
			require.Equal(t, wantKinds, r.kinds())

			// Without the operator's API the chart still installs, without
			// the objects that API would reject.
			plain := render(t, ch, vals, false)
			require.Empty(t, plain.podMonitors)
			require.Empty(t, plain.rules)
			require.Len(t, plain.statefulSets, 1)
		})
	}
}

// The defaults render the Prometheus Operator objects when the API exists.
func TestChartDefaultsIncludeOperatorObjects(t *testing.T) {
	r := render(t, loadChart(t), map[string]any{}, true)
	require.Len(t, r.podMonitors, 1)
	require.Len(t, r.rules, 1)
	pm := r.podMonitors[0]
	require.Equal(t, r.statefulSets[0].Spec.Selector.MatchLabels, pm.Spec.Selector.MatchLabels)
	require.Len(t, pm.Spec.PodMetricsEndpoints, 1)
	require.Equal(t, "/metrics", pm.Spec.PodMetricsEndpoints[0].Path)
	require.Equal(t, "http", *pm.Spec.PodMetricsEndpoints[0].Port)
}

func TestChartRejectsBadValues(t *testing.T) {
	ch := loadChart(t)
	caps := chartutil.DefaultCapabilities.Copy()
	opts := chartutil.ReleaseOptions{Name: releaseName, Namespace: namespace, IsInstall: true}
	for name, vals := range map[string]map[string]any{
		"zero replicas":    {"replicas": 0},
		"unknown key":      {"replica": 3},
		"bad storage type": {"storage": map[string]any{"type": "hostPath"}},
		"no accounts":      {"config": map[string]any{"accounts": []any{}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := chartutil.ToRenderValues(ch, vals, opts, caps)
			require.Error(t, err)
			require.Contains(t, err.Error(), "values don't meet the specifications of the schema")
		})
	}
}

func value(t *testing.T, r *rendered, path string) any {
	t.Helper()
	v, err := r.values.PathValue("Values." + path)
	require.NoError(t, err, path)
	return v
}

func checkStatefulSet(t *testing.T, r *rendered) {
	t.Helper()
	require.Len(t, r.statefulSets, 1)
	require.Len(t, r.services, 1)
	sts, svc := r.statefulSets[0], r.services[0]
	replicas := int32(value(t, r, "replicas").(float64))
	port := int(value(t, r, "port").(float64))

	require.Equal(t, replicas, *sts.Spec.Replicas)
	require.Equal(t, svc.Name, sts.Spec.ServiceName, "pods are named through the headless Service")
	require.Equal(t, corev1.ClusterIPNone, svc.Spec.ClusterIP)
	require.Equal(t, sts.Spec.Selector.MatchLabels, svc.Spec.Selector)
	require.Subset(t, sts.Spec.Template.Labels, sts.Spec.Selector.MatchLabels)

	pod := sts.Spec.Template.Spec
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	require.Contains(t, c.Args, fmt.Sprintf("--cluster.shards=%d", replicas))
	require.Contains(t, c.Args, "--cluster.shard=$(SHARD)")
	require.Contains(t, c.Args, fmt.Sprintf("--cluster.address-template=%s-%%d.%s.%s.svc:%d", sts.Name, svc.Name, namespace, port))
	require.Contains(t, c.Args, "--storage.path=/var/lib/quota_exporter")
	require.Contains(t, c.Args, "--config.file=/etc/quota_exporter/config/exporter.yml")
	require.Equal(t, []corev1.EnvVar{{Name: "SHARD", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['apps.kubernetes.io/pod-index']"},
	}}}, c.Env)

	require.Equal(t, "/-/healthy", c.LivenessProbe.HTTPGet.Path)
	require.Equal(t, "/-/ready", c.ReadinessProbe.HTTPGet.Path)
	require.Equal(t, []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port), Protocol: corev1.ProtocolTCP}}, c.Ports)

	// Non-root, read-only root file system, no privilege escalation, no capabilities.
	require.True(t, *pod.SecurityContext.RunAsNonRoot)
	require.Equal(t, int64(65532), *pod.SecurityContext.RunAsUser)
	require.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	require.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
	require.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)
	require.NotEmpty(t, c.Resources.Requests)
	require.NotEmpty(t, c.Resources.Limits)

	// --storage.path is a PVC per pod, or an emptyDir.
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	require.Equal(t, "/var/lib/quota_exporter", mounts["storage"])
	require.Equal(t, "/etc/quota_exporter/config", mounts["config"])
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	switch value(t, r, "storage.type") {
	case "emptyDir":
		require.NotNil(t, volumes["storage"].EmptyDir)
		require.Empty(t, sts.Spec.VolumeClaimTemplates)
	case "persistentVolumeClaim":
		require.NotContains(t, volumes, "storage")
		require.Len(t, sts.Spec.VolumeClaimTemplates, 1)
		require.Equal(t, "storage", sts.Spec.VolumeClaimTemplates[0].Name)
	default:
		t.Fatal("unknown storage type")
	}

	// Credentials come from an existing Secret, never from the chart.
	if secret := value(t, r, "existingSecret"); secret != "" {
		require.Equal(t, secret, volumes["secrets"].Secret.SecretName)
		require.Equal(t, "/etc/quota_exporter/secrets", mounts["secrets"])
	} else {
		require.NotContains(t, volumes, "secrets")
	}

	require.Len(t, r.configMaps, 1)
	require.Equal(t, r.configMaps[0].Name, volumes["config"].ConfigMap.Name)
	require.NotEmpty(t, sts.Spec.Template.Annotations["checksum/config"])
}

// The ConfigMap holds a configuration the exporter itself accepts.
func checkConfig(t *testing.T, r *rendered) {
	t.Helper()
	require.Len(t, r.configMaps, 1)
	text, ok := r.configMaps[0].Data["exporter.yml"]
	require.True(t, ok)
	cfg, err := config.Parse([]byte(text), "")
	require.NoError(t, err)
	want := value(t, r, "config.accounts").([]any)
	require.Len(t, cfg.Accounts, len(want))
}

// The PrometheusRule holds exactly the rules of deploy/alerts.yml, only the
// runbook base URL replaced when the values set one.
func checkRules(t *testing.T, r *rendered) {
	t.Helper()
	if len(r.rules) == 0 {
		return
	}
	require.Len(t, r.rules, 1)
	data, err := os.ReadFile(alertsFile)
	require.NoError(t, err)
	if base := value(t, r, "prometheusRule.runbookBaseURL"); base != "" {
		data = []byte(strings.ReplaceAll(string(data), runbookBase(t, data), base.(string)))
	}
	var want monitoringv1.PrometheusRuleSpec
	require.NoError(t, yaml.UnmarshalStrict(data, &want))
	require.NotEmpty(t, want.Groups)
	require.Equal(t, want, r.rules[0].Spec)
}

// runbookBase is the base URL that every runbook_url of the rules starts with.
func runbookBase(t *testing.T, rules []byte) string {
	t.Helper()
	const anchor = "runbooks.md"
	for _, line := range strings.Split(string(rules), "\n") {
		_, url, ok := strings.Cut(line, "runbook_url: ")
		if ok {
			url = strings.Trim(strings.TrimSpace(url), `"'`)
			i := strings.Index(url, anchor)
			require.Positive(t, i, "runbook_url %q points into %s", url, anchor)
			return url[:i+len(anchor)]
		}
	}
	t.Fatal("no runbook_url in the rules")
	return ""
}
