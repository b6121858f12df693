#!/usr/bin/env bash
# Build the pinned KWOK (a kubelet simulator from Kubernetes SIGs) from the sigs.k8s.io/kwok
# Go module into a cache outside the repository, beside kube-apiserver. Test tooling only:
# with kube-scheduler and a few fake Nodes it makes Pods scheduled, Running and Ready.
# Usage: hack/build-kwok.sh            -> prints the path of the kwok binary
set -euo pipefail

KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
CACHE="${WATCHKEEPER_CACHE:-$HOME/.cache/watchkeeper}"
OUT="$CACHE/kwok/$KWOK_VERSION"

if [ -x "$OUT/kwok" ]; then echo "$OUT/kwok"; exit 0; fi

command -v go >/dev/null || { echo "build-kwok: Go is required to build kwok" >&2; exit 1; }
mkdir -p "$OUT"
GOBIN="$OUT" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
  "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2
echo "$OUT/kwok"
