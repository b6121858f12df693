#!/usr/bin/env bash
# Build the pinned upstream kube-apiserver, kube-controller-manager and kube-scheduler
# from the k8s.io/kubernetes Go module into a cache outside the repository. Test tooling
# only. A binary already in the cache is not built again.
# Usage: hack/build-kube.sh            -> prints the directory holding the binaries
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"
CACHE="${WATCHKEEPER_CACHE:-$HOME/.cache/watchkeeper}"
OUT="$CACHE/kube/$KUBE_VERSION"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler)

have_all() {
  for b in "${BINARIES[@]}"; do [ -x "$OUT/$b" ] || return 1; done
}
if have_all; then echo "$OUT"; exit 0; fi

command -v go >/dev/null || { echo "build-kube: Go is required to build kube-apiserver" >&2; exit 1; }
mkdir -p "$OUT"
WORK="$CACHE/kube/build-$KUBE_VERSION"
mkdir -p "$WORK"
cd "$WORK"

# The staging modules are replaced with ./staging paths upstream; map each to its
# published v0.X.Y twin. The list is derived from this release's own go.mod.
STAGING_VERSION="v0.${KUBE_VERSION#v1.}"
go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" >/dev/null
UPSTREAM_MOD="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$KUBE_VERSION.mod"
mapfile -t STAGING < <(grep -E '^\s*k8s\.io/[A-Za-z0-9._-]+ => \./staging/' "$UPSTREAM_MOD" | awk '{print $1}')
[ "${#STAGING[@]}" -gt 10 ] || { echo "build-kube: could not read staging modules from $UPSTREAM_MOD" >&2; exit 1; }

{
  echo "module watchkeeper.local/kubebuild"
  echo
  echo "go $(go env GOVERSION | sed 's/^go//')"
  echo
  echo "require k8s.io/kubernetes $KUBE_VERSION"
  echo
  for m in "${STAGING[@]}"; do echo "replace $m => $m $STAGING_VERSION"; done
} > go.mod
cat > tools.go <<'GO'
//go:build tools

package kubebuild

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
go mod tidy >&2

MINOR="${KUBE_VERSION#v1.}"; MINOR="${MINOR%%.*}"
LDFLAGS=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LDFLAGS+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$MINOR"
  LDFLAGS+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
for b in "${BINARIES[@]}"; do
  [ -x "$OUT/$b" ] && continue
  CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w $LDFLAGS" \
    -o "$OUT/$b.tmp" "k8s.io/kubernetes/cmd/$b" >&2
  mv "$OUT/$b.tmp" "$OUT/$b"
done
echo "$OUT"
