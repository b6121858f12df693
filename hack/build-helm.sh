#!/usr/bin/env bash
# Build the pinned helm from the helm.sh/helm/v4 Go module into a cache outside the
# repository (beside kube-apiserver). Test tooling only: the chart tests run it.
# Usage: hack/build-helm.sh            -> prints the path of the helm binary
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v4.3.2}"
CACHE="${WATCHKEEPER_CACHE:-$HOME/.cache/watchkeeper}"
OUT="$CACHE/helm/$HELM_VERSION"

if [ -x "$OUT/helm" ]; then echo "$OUT/helm"; exit 0; fi

command -v go >/dev/null || { echo "build-helm: Go is required to build helm" >&2; exit 1; }
mkdir -p "$OUT"
GOBIN="$OUT" CGO_ENABLED=0 go install -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >&2
echo "$OUT/helm"
