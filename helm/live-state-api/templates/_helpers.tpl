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
A memory quantity in whole MiB (rounded down), or "" when it is not in a form read here:
plain bytes, or an integer with Ki, Mi, Gi, k, M or G. Helm reads numbers as floats.
*/}}
{{- define "live-state-api.memoryMiB" -}}
{{- $q := . }}
{{- if or (kindIs "float64" $q) (kindIs "int64" $q) (kindIs "int" $q) }}
{{- div (int64 $q) 1048576 }}
{{- else if regexMatch "^[0-9]+$" (toString $q) }}
{{- div (int64 $q) 1048576 }}
{{- else if regexMatch "^[0-9]+Ki$" (toString $q) }}
{{- div (int64 (trimSuffix "Ki" $q)) 1024 }}
{{- else if regexMatch "^[0-9]+Mi$" (toString $q) }}
{{- int64 (trimSuffix "Mi" $q) }}
{{- else if regexMatch "^[0-9]+Gi$" (toString $q) }}
{{- mul (int64 (trimSuffix "Gi" $q)) 1024 }}
{{- else if regexMatch "^[0-9]+k$" (toString $q) }}
{{- div (mul (int64 (trimSuffix "k" $q)) 1000) 1048576 }}
{{- else if regexMatch "^[0-9]+M$" (toString $q) }}
{{- div (mul (int64 (trimSuffix "M" $q)) 1000000) 1048576 }}
{{- else if regexMatch "^[0-9]+G$" (toString $q) }}
{{- div (mul (int64 (trimSuffix "G" $q)) 1000000000) 1048576 }}
{{- end }}
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
{{- if eq .Values.config.controlChannel .Values.config.updateChannel }}
{{- fail (printf "config.controlChannel must differ from config.updateChannel (both are %q): the store updater would persist the commands" .Values.config.updateChannel) }}
{{- end }}
{{- $maxStreams := int64 .Values.config.maxStreams }}
{{- $limit := include "live-state-api.memoryMiB" (dig "limits" "memory" "" .Values.resources) }}
{{- if $limit }}
{{- $neededMiB := add 128 (div (add (mul $maxStreams 16) 1023) 1024) }}
{{- if lt (int64 $limit) $neededMiB }}
{{- fail (printf "resources.limits.memory (%s) is below what config.maxStreams (%d) needs: 128Mi + %d x 16Ki = %dMi; raise the limit or lower config.maxStreams" (toString .Values.resources.limits.memory) $maxStreams $maxStreams $neededMiB) }}
{{- end }}
{{- end }}
{{- $streamTarget := int64 .Values.autoscaling.targetOpenStreamsPerPod }}
{{- if and .Values.autoscaling.enabled (ge $streamTarget $maxStreams) }}
{{- fail (printf "autoscaling.targetOpenStreamsPerPod (%d) must be below config.maxStreams (%d), or pods refuse streams before more are added" $streamTarget $maxStreams) }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int64 .Values.autoscaling.minReplicas) (int64 .Values.autoscaling.maxReplicas)) }}
{{- fail (printf "autoscaling.minReplicas (%d) must not exceed autoscaling.maxReplicas (%d)" (int64 .Values.autoscaling.minReplicas) (int64 .Values.autoscaling.maxReplicas)) }}
{{- end }}
{{- end }}
