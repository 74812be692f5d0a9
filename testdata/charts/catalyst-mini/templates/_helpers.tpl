{{- define "catalyst.labels" -}}
helm.sh/chart: "{{ .Chart.Name }}-{{ .Chart.Version }}"
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "catalyst.image" -}}
{{ .root.Values.global.image.registry }}/{{ .image.repository }}:{{ .image.tag | default .root.Chart.Version }}
{{- end }}
