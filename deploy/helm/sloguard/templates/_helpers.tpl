{{/* Names, labels, and the rendering of sloguard.yaml. */}}

{{- define "sloguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sloguard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "sloguard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sloguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sloguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sloguard.labels" -}}
helm.sh/chart: {{ include "sloguard.chart" . }}
{{ include "sloguard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: daemon
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "sloguard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sloguard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "sloguard.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "sloguard.slosConfigMap" -}}
{{- default (printf "%s-slos" (include "sloguard.fullname" .)) .Values.slos.existingConfigMap -}}
{{- end -}}

{{/* Where things are mounted in the pod. The container args name the config path. */}}
{{- define "sloguard.configDir" -}}/etc/sloguard{{- end -}}
{{- define "sloguard.slosDir" -}}/etc/sloguard/slos{{- end -}}
{{- define "sloguard.secretsDir" -}}/etc/sloguard/secrets{{- end -}}
{{- define "sloguard.stateDir" -}}/var/lib/sloguard{{- end -}}

{{/*
sloguard.resolveFiles: walk a value (map, list or scalar) and replace every `<name>_file:
{secretKey: KEY}` with the path of KEY in the mounted Secret. Every KEY used is recorded in
.used so the caller can insist on secrets.existingSecret. Returns YAML of {v: resolved}.
*/}}
{{- define "sloguard.resolveFiles" -}}
{{- $dir := .dir -}}
{{- $used := .used -}}
{{- $value := .value -}}
{{- $path := .path -}}
{{- if kindIs "map" $value -}}
{{- $out := dict -}}
{{- range $k, $v := $value -}}
{{- if and (has $k (list "routing_key" "api_key" "secret" "token" "password" "bearer_token")) $v -}}
{{- fail (printf "%s.%s: secrets are never written into the config; use %s_file: {secretKey: KEY} with secrets.existingSecret (or %s_env with extraEnv)" $path $k $k $k) -}}
{{- end -}}
{{- if and (hasSuffix "_file" $k) (kindIs "map" $v) -}}
{{- if not (hasKey $v "secretKey") -}}
{{- fail (printf "%s.%s must be a path or {secretKey: KEY}" $path $k) -}}
{{- end -}}
{{- $_ := set $used $v.secretKey $k -}}
{{- $_ := set $out $k (printf "%s/%s" $dir $v.secretKey) -}}
{{- else -}}
{{- $r := include "sloguard.resolveFiles" (dict "dir" $dir "used" $used "value" $v "path" (printf "%s.%s" $path $k)) | fromYaml -}}
{{- $_ := set $out $k $r.v -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "v" $out) -}}
{{- else if kindIs "slice" $value -}}
{{- $out := list -}}
{{- range $i, $v := $value -}}
{{- $r := include "sloguard.resolveFiles" (dict "dir" $dir "used" $used "value" $v "path" (printf "%s[%d]" $path $i)) | fromYaml -}}
{{- $out = append $out $r.v -}}
{{- end -}}
{{- toYaml (dict "v" $out) -}}
{{- else -}}
{{- toYaml (dict "v" $value) -}}
{{- end -}}
{{- end -}}

{{/* sloguard.config: the daemon's sloguard.yaml (issue 5's shape), as YAML. */}}
{{- define "sloguard.config" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- range $key, $owner := dict "slo_paths" "slos.files or slos.existingConfigMap" "state_path" "persistence" -}}
{{- if hasKey $cfg $key -}}
{{- fail (printf "config.%s is set by the chart (the SLO files and state live where the chart mounts them); use %s instead" $key $owner) -}}
{{- end -}}
{{- end -}}
{{- $http := dict -}}
{{- if hasKey $cfg "http" -}}
{{- $http = deepCopy $cfg.http -}}
{{- if hasKey $http "listen" -}}
{{- fail "config.http.listen is set by the chart from containerPort; set containerPort instead" -}}
{{- end -}}
{{- end -}}
{{- $_ := set $http "listen" (printf "0.0.0.0:%d" (int .Values.containerPort)) -}}
{{- $_ := set $cfg "http" $http -}}
{{- $_ := set $cfg "slo_paths" (list (include "sloguard.slosDir" .)) -}}
{{- if not (hasKey $cfg "state_url") -}}
{{- $_ := set $cfg "state_path" (printf "%s/state.db" (include "sloguard.stateDir" .)) -}}
{{- end -}}
{{- $used := dict -}}
{{- $r := include "sloguard.resolveFiles" (dict "dir" (include "sloguard.secretsDir" .) "used" $used "value" $cfg "path" "config") | fromYaml -}}
{{- if and $used (not .Values.secrets.existingSecret) -}}
{{- fail (printf "config uses secretKey %s but secrets.existingSecret is empty; name the Secret that holds these keys" (keys $used | sortAlpha | join ", ")) -}}
{{- end -}}
{{- toYaml $r.v -}}
{{- end -}}
