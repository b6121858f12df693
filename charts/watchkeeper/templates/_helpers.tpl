{{/* The name of every object: the release name, with -watchkeeper unless it says so. */}}
{{- define "watchkeeper.name" -}}
{{- if contains "watchkeeper" .Release.Name -}}
{{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else -}}
{{ printf "%s-watchkeeper" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end -}}
{{- end -}}
{{- define "watchkeeper.labels" -}}
app.kubernetes.io/name: watchkeeper
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}
{{- define "watchkeeper.selectorLabels" -}}
app.kubernetes.io/name: watchkeeper
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
What the operator may do inside a namespace it watches: a ClusterRole in cluster mode, a
Role in each watched namespace in namespaced mode. Every verb here is one the operator
(or kopf, for its annotations and finalizers) really uses; see the README's Security model.
*/}}
{{- define "watchkeeper.namespacedRules" -}}
# Policies, channels, escalations: watched; kopf patches its annotations and finalizers.
- apiGroups: [watchkeeper.io]
  resources: [alertpolicies, notificationchannels, escalationpolicies, scalingpolicies, inhibitrules, timeintervals]
  verbs: [get, list, watch, patch]
# Alerts: the only kind the operator creates and deletes.
- apiGroups: [watchkeeper.io]
  resources: [alerts]
  verbs: [get, list, watch, create, patch, delete]
# Silences: watched; deleted once expired for longer than --silence-retention.
- apiGroups: [watchkeeper.io]
  resources: [silences]
  verbs: [get, list, watch, patch, delete]
# Status of every kind: written only by the operator.
- apiGroups: [watchkeeper.io]
  resources: [alertpolicies/status, alerts/status, notificationchannels/status, escalationpolicies/status, scalingpolicies/status, silences/status, inhibitrules/status, timeintervals/status]
  verbs: [get, patch, update]
# Referenced credentials, by name; only those labelled watchkeeper.io/allow-reference=true are used.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
# Scale targets: watched (only those labelled watchkeeper.io/allow-scaling=true, unless
# --reference-policy=any) for their replicas; their /scale is written.
- apiGroups: [apps]
  resources: [deployments, statefulsets]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments/scale, statefulsets/scale]
  verbs: [get, update]
{{- range .Values.scaling.extraScaleResources }}
- apiGroups: [{{ .apiGroup | quote }}]
  resources: {{ toJson .resources }}
  verbs: [get]
- apiGroups: [{{ .apiGroup | quote }}]
  resources: [{{ range $i, $r := .resources }}{{ if $i }}, {{ end }}{{ printf "%s/scale" $r | quote }}{{ end }}]
  verbs: [get, update]
{{- end }}
# Other autoscalers of a target (conflict check), watched.
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [list, watch]
- apiGroups: [keda.sh]
  resources: [scaledobjects]
  verbs: [list, watch]
{{- end -}}

{{/* Cluster-scoped reads kopf needs to find its resources; no Secret, no workload. */}}
{{- define "watchkeeper.clusterRules" -}}
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list, watch]
{{- end -}}
