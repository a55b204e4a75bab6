{{/* Chart name, cut to the 63 characters a label value allows. */}}
{{- define "quota-exporter.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Object names: the release name, with the chart name unless it holds it. */}}
{{- define "quota-exporter.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "quota-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "quota-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "quota-exporter.labels" -}}
{{ include "quota-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "quota-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "quota-exporter.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Where shard i is reached: pod i of the StatefulSet, through the headless Service. */}}
{{- define "quota-exporter.addressTemplate" -}}
{{- $name := include "quota-exporter.fullname" . -}}
{{- printf "%s-%%d.%s.%s.svc:%d" $name $name .Release.Namespace (int .Values.port) -}}
{{- end -}}

{{/* The Prometheus Operator objects render only where the cluster serves their API. */}}
{{- define "quota-exporter.hasOperator" -}}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" -}}true{{- end -}}
{{- end -}}
