{{/*
Chart name, truncated to 63 characters (a DNS label).
*/}}
{{- define "arustio.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: RELEASE-NAME, or RELEASE when it already contains the chart name.
Kept to 52 characters: StatefulSet pods add "-N" and the controller adds a
controller-revision-hash label of the name plus 11 characters (63 at most).
*/}}
{{- define "arustio.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "arustio.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "arustio.labels" -}}
app.kubernetes.io/name: {{ include "arustio.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{ include "arustio.baseLabels" . }}
{{- end }}

{{/*
The labels besides name and instance (pod templates add the selector labels to these).
*/}}
{{- define "arustio.baseLabels" -}}
helm.sh/chart: {{ include "arustio.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: arustio
{{- end }}

{{/*
Selector labels of the nodes. The component label keeps the init Job's pod out of the
Services' endpoints.
*/}}
{{- define "arustio.selectorLabels" -}}
app.kubernetes.io/name: {{ include "arustio.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{- define "arustio.headlessName" -}}
{{- printf "%s-headless" (include "arustio.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "arustio.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "arustio.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "arustio.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* http or https, for the gRPC URLs (join, the init Job). */}}
{{- define "arustio.scheme" -}}
{{- if .Values.tls.enabled }}https{{ else }}http{{ end }}
{{- end }}

{{/* The DNS suffix every node's name ends with: HEADLESS.NAMESPACE.svc.DOMAIN */}}
{{- define "arustio.peerDomain" -}}
{{- printf "%s.%s.svc.%s" (include "arustio.headlessName" .) .Release.Namespace .Values.clusterDomain }}
{{- end }}

{{/* gRPC URL of node 1 (pod -0), the node the others join. */}}
{{- define "arustio.seedURL" -}}
{{- printf "%s://%s-0.%s:%d" (include "arustio.scheme" .) (include "arustio.fullname" .) (include "arustio.peerDomain" .) (int .Values.ports.grpc) }}
{{- end }}

{{/* gRPC URL of the cluster for the admin CLI: the headless name (any node answers). */}}
{{- define "arustio.adminURL" -}}
{{- printf "%s://%s:%d" (include "arustio.scheme" .) (include "arustio.peerDomain" .) (int .Values.ports.grpc) }}
{{- end }}

{{/* The Secret holding the credentials and the cluster secret. */}}
{{- define "arustio.secretName" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecret }}
{{- else }}
{{- include "arustio.fullname" . }}
{{- end }}
{{- end }}

{{/* A value quoted for /bin/sh: 'it'\''s' */}}
{{- define "arustio.shquote" -}}
{{- printf "'%s'" (replace "'" "'\\''" (toString .)) }}
{{- end }}

{{/*
Checks of values that cannot be rendered into a working cluster. Included by every
template that depends on them, so `helm template` fails early with a clear message.
*/}}
{{- define "arustio.validate" -}}
{{- if lt (int .Values.replicas) 1 }}
{{- fail "replicas must be at least 1" }}
{{- end }}
{{- if not .Values.auth.existingSecret }}
{{- $cs := required "auth.clusterSecret is required (at least 16 random characters, e.g. --set-string auth.clusterSecret=$(openssl rand -hex 32)), or set auth.existingSecret" .Values.auth.clusterSecret }}
{{- if lt (len (toString $cs)) 16 }}
{{- fail "auth.clusterSecret is too short: use at least 16 random characters (e.g. openssl rand -hex 32)" }}
{{- end }}
{{- $_ := required "auth.accessKey is required (the root access key), or set auth.existingSecret" .Values.auth.accessKey }}
{{- $_ := required "auth.secretKey is required (the root secret key), or set auth.existingSecret" .Values.auth.secretKey }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.secretName) }}
{{- fail "tls.enabled needs tls.secretName: a Secret with tls.crt, tls.key and ca.crt" }}
{{- end }}
{{- if not (has .Values.config.logFormat (list "text" "json")) }}
{{- fail "config.logFormat must be text or json" }}
{{- end }}
{{- range $i, $m := .Values.mounts }}
{{- if not $m.path }}
{{- fail (printf "mounts[%d] needs a path" $i) }}
{{- end }}
{{- if not (hasPrefix "/" (toString $m.path)) }}
{{- fail (printf "mounts[%d].path %q must start with /" $i $m.path) }}
{{- end }}
{{- if not $m.uri }}
{{- fail (printf "mounts[%d] (%s) needs a uri" $i $m.path) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A value for config.toml. Helm reads YAML numbers as floats: whole numbers are written
as integers (3600, not 3600.0), as arustio's integer settings need.
*/}}
{{- define "arustio.tomlValue" -}}
{{- if kindIs "string" . }}
{{- toJson . }}
{{- else if kindIs "bool" . }}
{{- toString . }}
{{- else if kindIs "float64" . }}
{{- if eq . (floor .) }}{{ int64 . }}{{ else }}{{ toString . }}{{ end }}
{{- else if or (kindIs "int" .) (kindIs "int64" .) }}
{{- toString . }}
{{- else if kindIs "slice" . }}
{{- $items := list }}
{{- range . }}{{ $items = append $items (include "arustio.tomlValue" .) }}{{ end }}
{{- printf "[%s]" (join ", " $items) }}
{{- else }}
{{- fail (printf "config.extra: cannot write %v (a %s) to config.toml" . (kindOf .)) }}
{{- end }}
{{- end }}
