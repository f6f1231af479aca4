{{/* The chart name, or nameOverride. */}}
{{- define "live-state-api.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the service's resources: "<release>-<chart>", or just the release name when
it already contains the chart name. Kept to 57 characters so "<fullname>-redis" fits in 63.
*/}}
{{- define "live-state-api.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 57 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 57 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 57 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The name of the bundled Redis' Deployment and Service. */}}
{{- define "live-state-api.redisName" -}}
{{- printf "%s-redis" (include "live-state-api.fullname" .) }}
{{- end }}

{{- define "live-state-api.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels shared by every resource of the release. */}}
{{- define "live-state-api.commonLabels" -}}
helm.sh/chart: {{ include "live-state-api.chart" . }}
app.kubernetes.io/name: {{ include "live-state-api.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The service's pods: the component label keeps them apart from the bundled Redis. */}}
{{- define "live-state-api.selectorLabels" -}}
app.kubernetes.io/name: {{ include "live-state-api.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: api
{{- end }}

{{- define "live-state-api.labels" -}}
{{ include "live-state-api.commonLabels" . }}
app.kubernetes.io/component: api
{{- end }}

{{- define "live-state-api.redisSelectorLabels" -}}
app.kubernetes.io/name: {{ include "live-state-api.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end }}

{{- define "live-state-api.redisLabels" -}}
{{ include "live-state-api.commonLabels" . }}
app.kubernetes.io/component: redis
{{- end }}

{{- define "live-state-api.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "live-state-api.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "live-state-api.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Checks what the schema cannot express; included by the Deployment, so `helm template`
and `helm install` stop with the message.
*/}}
{{- define "live-state-api.validate" -}}
{{- $sources := list }}
{{- if .Values.redis.enabled }}{{ $sources = append $sources "redis.enabled" }}{{ end }}
{{- if .Values.redis.existingSecret }}{{ $sources = append $sources "redis.existingSecret" }}{{ end }}
{{- if .Values.redis.url }}{{ $sources = append $sources "redis.url" }}{{ end }}
{{- if ne (len $sources) 1 }}
{{- fail (printf "redis: set exactly one of redis.enabled (bundled Redis), redis.existingSecret (REDIS_URL from a Secret) or redis.url; set now: %s" (default "none" (join ", " $sources))) }}
{{- end }}
{{- $shutdownSeconds := div (add (int64 .Values.config.shutdownTimeoutMs) 999) 1000 }}
{{- $needed := add (int64 .Values.preStopSleepSeconds) $shutdownSeconds }}
{{- if lt (int64 .Values.terminationGracePeriodSeconds) $needed }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be at least preStopSleepSeconds (%d) + config.shutdownTimeoutMs in seconds (%d) = %d, or Kubernetes kills the pod before it has shut down" (int64 .Values.terminationGracePeriodSeconds) (int64 .Values.preStopSleepSeconds) $shutdownSeconds $needed) }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int64 .Values.autoscaling.minReplicas) (int64 .Values.autoscaling.maxReplicas)) }}
{{- fail (printf "autoscaling.minReplicas (%d) must not exceed autoscaling.maxReplicas (%d)" (int64 .Values.autoscaling.minReplicas) (int64 .Values.autoscaling.maxReplicas)) }}
{{- end }}
{{- end }}
