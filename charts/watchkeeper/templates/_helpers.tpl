{{- define "watchkeeper.name" -}}{{ .Release.Name }}-watchkeeper{{- end -}}
{{- define "watchkeeper.labels" -}}
app.kubernetes.io/name: watchkeeper
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}
