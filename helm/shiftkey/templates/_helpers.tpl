{{/*
Chart name, truncated to the 63 characters of a DNS label.
*/}}
{{- define "shiftkey.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: <release>-<chart>, or the release name alone if it already
contains the chart name.
*/}}
{{- define "shiftkey.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "shiftkey.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every resource.
*/}}
{{- define "shiftkey.labels" -}}
helm.sh/chart: {{ include "shiftkey.chart" . }}
{{ include "shiftkey.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: engine
app.kubernetes.io/part-of: shiftkey
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels: immutable once the Deployment exists, keep them minimal.
*/}}
{{- define "shiftkey.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shiftkey.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "shiftkey.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "shiftkey.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Image reference: repository@digest, else repository:tag (tag defaults to the
chart's appVersion).
*/}}
{{- define "shiftkey.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) }}
{{- end }}
{{- end }}

{{/*
Name of the ConfigMap holding the rules.
*/}}
{{- define "shiftkey.rulesConfigMapName" -}}
{{- if .Values.existingRulesConfigMap }}
{{- .Values.existingRulesConfigMap }}
{{- else }}
{{- printf "%s-rules" (include "shiftkey.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/*
Redis password Secret: name and key, or nothing when no password is configured.
*/}}
{{- define "shiftkey.redisPasswordEnabled" -}}
{{- if or .Values.redis.existingSecret .Values.redis.password }}true{{ end }}
{{- end }}

{{- define "shiftkey.redisSecretName" -}}
{{- if .Values.redis.existingSecret }}
{{- .Values.redis.existingSecret }}
{{- else }}
{{- printf "%s-redis" (include "shiftkey.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "shiftkey.redisSecretKey" -}}
{{- if .Values.redis.existingSecret }}
{{- required "redis.existingSecretKey must name the password's key in redis.existingSecret" .Values.redis.existingSecretKey }}
{{- else -}}
redis-password
{{- end }}
{{- end }}

{{/*
Checks of values that a wrong setting would only reveal at run time.
*/}}
{{- define "shiftkey.validate" -}}
{{- $brokers := required "kafka.brokers is required: the Kafka bootstrap servers, host:port[,host:port...]" .Values.kafka.brokers }}
{{- if eq (lower (toString $brokers)) "embedded" }}
{{- fail "kafka.brokers: 'embedded' is a single-process demo broker; in Kubernetes give the bootstrap servers of a real Kafka cluster" }}
{{- end }}
{{- $_ := required "redis.address is required: HOST:PORT of the Redis holding the grant state" .Values.redis.address }}
{{- if not .Values.existingRulesConfigMap }}
{{- $files := 0 }}
{{- range $file, $content := .Values.rules }}
{{- if not (kindIs "invalid" $content) }}
{{- $files = add1 $files }}
{{- if not (regexMatch "^[A-Za-z0-9_.-]+\\.ya?ml$" $file) }}
{{- fail (printf "rules: file name %q must match [A-Za-z0-9_.-]+ and end in .yaml or .yml (the engine reads only those)" $file) }}
{{- end }}
{{- if hasPrefix "." $file }}
{{- fail (printf "rules: file name %q is hidden; the engine ignores hidden files" $file) }}
{{- end }}
{{- end }}
{{- end }}
{{- if eq $files 0 }}
{{- fail "rules is empty: give at least one rules file (rules: {NAME.yaml: CONTENT}) or existingRulesConfigMap" }}
{{- end }}
{{- end }}
{{- if and .Values.kafka.configSecret (not .Values.kafka.configSecretKey) }}
{{- fail "kafka.configSecretKey: name the key of kafka.configSecret that holds the settings" }}
{{- end }}
{{- end }}

{{/*
A scalar as a string for env and args: integral numbers without exponent
(Helm reads numbers from values files as float64, and 1048576 would
otherwise print as 1.048576e+06).
*/}}
{{- define "shiftkey.scalar" -}}
{{- if kindIs "float64" . }}
{{- if eq . (floor .) }}{{ int64 . }}{{ else }}{{ . }}{{ end }}
{{- else }}{{ . }}
{{- end }}
{{- end }}

{{/*
The programs beside the engine (shiftkey-slack, shiftkey-provision, the
on-call connectors): their own name, labels and selector, so that no
selector of the engine (Deployment, PodDisruptionBudget, metrics Service)
matches their pods. Called with (dict "root" $ "program" "slack").
*/}}
{{- define "shiftkey.programName" -}}
{{- printf "%s-%s" (include "shiftkey.fullname" .root) .program | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "shiftkey.programSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-%s" (include "shiftkey.name" .root) .program | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{- define "shiftkey.programLabels" -}}
helm.sh/chart: {{ include "shiftkey.chart" .root }}
{{ include "shiftkey.programSelectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: shiftkey
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
shiftkey.io/metrics: programs
{{- end }}

{{/*
The image of the programs: programsImage, its tag defaulting to appVersion.
*/}}
{{- define "shiftkey.programsImage" -}}
{{- if .Values.programsImage.digest }}
{{- printf "%s@%s" .Values.programsImage.repository .Values.programsImage.digest }}
{{- else }}
{{- printf "%s:%s" .Values.programsImage.repository (default .Chart.AppVersion .Values.programsImage.tag | toString) }}
{{- end }}
{{- end }}

{{/*
The Kafka settings every program shares, as container args:
--kafka-config NAME=VALUE for each kafka.config entry.
*/}}
{{- define "shiftkey.programKafkaArgs" -}}
{{- range $name, $value := .Values.kafka.config }}
- {{ printf "--kafka-config=%s=%s" $name (include "shiftkey.scalar" $value) | quote }}
{{- end }}
{{- end }}
