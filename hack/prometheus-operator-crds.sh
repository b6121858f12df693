#!/usr/bin/env bash
# Fetch prometheus-operator's CRDs (ServiceMonitor, PrometheusRule, ...) from the pinned
# github.com/prometheus-operator/prometheus-operator Go module through the module proxy,
# like hack/build-helm.sh pins helm. Test tooling only: the chart's ServiceMonitor and
# PrometheusRule are applied against them.
# Usage: hack/prometheus-operator-crds.sh   -> prints the directory holding the CRD files
set -euo pipefail

VERSION="${PROMETHEUS_OPERATOR_VERSION:-v0.89.0}"
MODULE="github.com/prometheus-operator/prometheus-operator"
command -v go >/dev/null || { echo "prometheus-operator-crds: Go is required" >&2; exit 1; }
dir="$(cd "${TMPDIR:-/tmp}" && GOFLAGS=-mod=mod go mod download -json "$MODULE@$VERSION" \
  | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -d "$dir/example/prometheus-operator-crd" ] \
  || { echo "prometheus-operator-crds: no example/prometheus-operator-crd in $dir" >&2; exit 1; }
echo "$dir/example/prometheus-operator-crd"
