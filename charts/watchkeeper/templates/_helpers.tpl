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
Per shard (called with dict "root" $ "shard" i): with shards > 1 the Deployment and PDB of
shard i are named <name>-shard-<i> and carry the label watchkeeper.io/shard=<i>; with one
shard, the plain name and labels.
*/}}
{{- define "watchkeeper.shardName" -}}
{{ include "watchkeeper.name" .root }}{{ if gt (int .root.Values.shards) 1 }}-shard-{{ .shard }}{{ end }}
{{- end -}}
{{- define "watchkeeper.shardLabel" -}}
{{- if gt (int .root.Values.shards) 1 }}
watchkeeper.io/shard: {{ .shard | quote }}
{{- end }}
{{- end -}}
{{- define "watchkeeper.shardLabels" -}}
{{ include "watchkeeper.labels" .root }}{{ include "watchkeeper.shardLabel" . }}
{{- end -}}
{{- define "watchkeeper.shardSelectorLabels" -}}
{{ include "watchkeeper.selectorLabels" .root }}{{ include "watchkeeper.shardLabel" . }}
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
# Pods, watched: a target's ready pods are counted through its selector, as the HPA does.
- apiGroups: [""]
  resources: [pods]
  verbs: [list, watch]
# Other autoscalers of a target (conflict check): watched, and listed again before a write.
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

{{/* repository@digest when a digest is given, else repository:tag (default appVersion). */}}
{{- define "watchkeeper.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/*
A Grafana dashboard (JSON model) from the compact form of dashboards/*.yaml: title, uid and
panels of {title, unit, targets: [{expr, legend}]}, two per row; variables datasource and job.
*/}}
{{- define "watchkeeper.dashboard" -}}
{{- $datasource := dict "type" "prometheus" "uid" "${datasource}" -}}
{{- $panels := list -}}
{{- range $i, $panel := .panels -}}
{{- $targets := list -}}
{{- range $j, $target := $panel.targets -}}
{{- $targets = append $targets (dict "expr" $target.expr "legendFormat" ($target.legend | default "") "refId" (printf "%c" (add 65 $j)) "datasource" $datasource) -}}
{{- end -}}
{{- $grid := dict "x" (mul (mod $i 2) 12) "y" (mul (div $i 2) 8) "w" 12 "h" 8 -}}
{{- $field := dict "defaults" (dict "unit" ($panel.unit | default "short")) "overrides" list -}}
{{- $panels = append $panels (dict "id" (add1 $i) "type" "timeseries" "title" $panel.title "gridPos" $grid "datasource" $datasource "fieldConfig" $field "targets" $targets) -}}
{{- end -}}
{{- $datasourceVar := dict "name" "datasource" "label" "Prometheus" "type" "datasource" "query" "prometheus" -}}
{{- $jobVar := dict "name" "job" "label" "job" "type" "query" "datasource" $datasource "query" "label_values(watchkeeper_leader, job)" "refresh" 2 "includeAll" true "multi" true "allValue" ".+" -}}
{{- toJson (dict "title" .title "uid" .uid "tags" (list "watchkeeper") "schemaVersion" 39 "refresh" "30s" "time" (dict "from" "now-6h" "to" "now") "templating" (dict "list" (list $datasourceVar $jobVar)) "panels" $panels) -}}
{{- end -}}

{{/* The scrape series of this release's operator: job is the metrics Service's name. */}}
{{- define "watchkeeper.metricsSelector" -}}
{{- .Values.selfMonitoring.metricsSelector | default (printf "job=\"%s-metrics\", namespace=\"%s\"" (include "watchkeeper.name" .) .Release.Namespace) -}}
{{- end -}}

{{/*
Conditions worth an alert about Watchkeeper itself (YAML list): name, query, comparison,
value, severity, summary; ruleOnly when Watchkeeper cannot alert on it (it is down).
*/}}
{{- define "watchkeeper.selfAlerts" -}}
{{- $s := include "watchkeeper.metricsSelector" . -}}
- name: WatchkeeperDown
  ruleOnly: true
  query: {{ printf "count(up{%s} == 1) or vector(0)" $s | quote }}
  comparison: Equal
  value: 0
  severity: Critical
  summary: No Watchkeeper replica is up; no alert is evaluated, no notification sent.
- name: WatchkeeperNoLeader
  query: {{ printf "sum(watchkeeper_leader{%s})" $s | quote }}
  comparison: LessThan
  value: {{ int .Values.shards }}
  severity: Critical
  {{- if gt (int .Values.shards) 1 }}
  summary: A Watchkeeper shard has no leader; the namespaces it carries are not evaluated.
  {{- else }}
  summary: Watchkeeper replicas run but none leads; nothing is evaluated.
  {{- end }}
- name: WatchkeeperEvaluationsFailing
  query: {{ printf "sum(rate(watchkeeper_alert_evaluations_total{%s, outcome=~\"QueryRejected|PrometheusUnavailable\"}[5m])) / sum(rate(watchkeeper_alert_evaluations_total{%s}[5m]))" $s $s | quote }}
  comparison: GreaterThan
  value: 0.1
  severity: Warning
  summary: More than 10% of AlertPolicy evaluations fail (see each policy's Evaluated condition).
- name: WatchkeeperNotificationsFailing
  query: {{ printf "sum(rate(watchkeeper_notifications_total{%s, outcome=\"Failed\"}[5m]))" $s | quote }}
  comparison: GreaterThan
  value: 0
  severity: Warning
  summary: Notification deliveries fail (see the channels' status.lastDelivery).
- name: WatchkeeperJobsQueued
  query: {{ printf "max(watchkeeper_scheduler_queue_depth{%s})" $s | quote }}
  comparison: GreaterThan
  value: 0
  severity: Warning
  summary: Watchkeeper's jobs wait for a worker; raise --max-concurrent-jobs or resources.
- name: WatchkeeperJobsLate
  query: {{ printf "histogram_quantile(0.99, sum by (le) (rate(watchkeeper_scheduler_lag_seconds_bucket{%s}[5m])))" $s | quote }}
  comparison: GreaterThan
  value: 10
  severity: Warning
  summary: Watchkeeper's jobs start more than 10s late; it is saturated.
- name: WatchkeeperPrometheusUnreachable
  query: {{ printf "min(watchkeeper_component_up{%s, component=\"prometheus\"})" $s | quote }}
  comparison: Equal
  value: 0
  severity: Critical
  summary: Watchkeeper cannot query Prometheus; alerts keep their state, nothing new fires.
- name: WatchkeeperKubernetesUnreachable
  query: {{ printf "min(watchkeeper_component_up{%s, component=\"kubernetes\"})" $s | quote }}
  comparison: Equal
  value: 0
  severity: Critical
  summary: Watchkeeper cannot reach the API server; transitions are held in memory.
{{- end -}}
