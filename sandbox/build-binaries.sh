#!/usr/bin/env bash
# Builds kube-apiserver and etcd from Go modules into a cache folder outside the checkout.
#
# Why a wrapper module: k8s.io/kubernetes requires its staging modules at the fake version
# v0.0.0 and replaces them with local paths, so `go install ...@version` cannot work. A
# wrapper module that requires k8s.io/kubernetes and replaces every staging module with
# its published v0.X.Y release builds cleanly. etcd's server module has local replaces
# too, so it gets a wrapper of its own.
#
# Usage: build-binaries.sh OUT_DIR K8S_VERSION ETCD_VERSION
set -euo pipefail

out=$1
k8s=$2          # e.g. 1.36.3
etcd=$3         # e.g. 3.6.8
staging="0.${k8s#1.}"
minor=$(echo "$k8s" | cut -d. -f2)

export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
work=$(mktemp -d "${TMPDIR:-/tmp}/stashql-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

step() { printf '[build] %s\n' "$*" >&2; }

if [ ! -x "$out/kube-apiserver" ]; then
  step "kube-apiserver v$k8s: resolving modules (first time: a few hundred MB of downloads)"
  mkdir -p "$work/apiserver" && cd "$work/apiserver"
  go mod init stashql.invalid/apiserver >/dev/null 2>&1
  gomod=$(go mod download -json "k8s.io/kubernetes@v$k8s" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  # Every staging module that the release's go.mod requires at v0.0.0 gets a replace.
  grep -E '^\s+k8s\.io/[^ ]+ v0\.0\.0\s*$' "$gomod" | awk '{print $1}' | while read -r m; do
    go mod edit -replace="$m=$m@v$staging"
  done
  # The godebug defaults only apply in the main module: copy the release's line.
  gd=$(grep -E '^godebug ' "$gomod" || true)
  [ -n "$gd" ] && echo "$gd" >> go.mod
  go get "k8s.io/kubernetes@v$k8s" >/dev/null 2>&1 || go get "k8s.io/kubernetes@v$k8s"
  cat > main.go <<'GO'
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
GO
  go mod tidy >/dev/null 2>&1 || go mod tidy
  step "kube-apiserver v$k8s: compiling (several minutes on 2 cores)"
  ldv="k8s.io/component-base/version"
  go build -trimpath -ldflags "-s -w -X $ldv.gitVersion=v$k8s -X $ldv.gitMajor=1 -X $ldv.gitMinor=$minor" \
    -o "$work/kube-apiserver.bin" .
  mv "$work/kube-apiserver.bin" "$out/kube-apiserver"
fi

if [ ! -x "$out/etcd" ]; then
  step "etcd v$etcd: resolving and compiling"
  mkdir -p "$work/etcd" && cd "$work/etcd"
  go mod init stashql.invalid/etcd >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@v$etcd" >/dev/null 2>&1 || go get "go.etcd.io/etcd/server/v3@v$etcd"
  cat > main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  go mod tidy >/dev/null 2>&1 || go mod tidy
  go build -trimpath -ldflags "-s -w" -o "$work/etcd.bin" .
  mv "$work/etcd.bin" "$out/etcd"
fi
step "binaries ready in $out"
