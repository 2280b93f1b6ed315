#!/usr/bin/env bash
# Prints the path of a kubectl matching the sandbox's kube-apiserver, building it once.
#
# The benchmark's baseline is `kubectl get snapshots -A -o json` against the same API
# servers, so we want the same Kubernetes version as the sandbox (v1.36.3), whatever
# kubectl (if any) the machine has on PATH. k8s.io/kubectl is a published module whose
# go.mod requires only published releases, so a tiny wrapper module with the main of
# k8s.io/kubernetes/cmd/kubectl builds it without the replace lines that
# sandbox/build-binaries.sh needs for kube-apiserver. About a minute on 2 cores when the
# Go build cache is warm from the sandbox build, a few minutes otherwise.
#
# Usage: bench/kubectl.sh [K8S_VERSION]      (prints the binary's path on stdout)
# Env:   KUBECTL=/path/to/kubectl uses that binary instead (no build).
set -euo pipefail

k8s=${1:-1.36.3}
staging="0.${k8s#1.}"
minor=$(echo "$k8s" | cut -d. -f2)
out="${XDG_CACHE_HOME:-$HOME/.cache}/stashql/kubectl-$k8s"
bin="$out/kubectl"

if [ -n "${KUBECTL:-}" ]; then
  [ -x "$KUBECTL" ] || { echo "KUBECTL=$KUBECTL is not executable" >&2; exit 1; }
  echo "$KUBECTL"
  exit 0
fi
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "Go >= 1.26 is needed once to build kubectl v$k8s" >&2; exit 1; }

export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
work=$(mktemp -d "${TMPDIR:-/tmp}/stashql-kubectl.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
cd "$work"
echo "[kubectl] building kubectl v$k8s into $out (once)" >&2
go mod init stashql.invalid/kubectl >/dev/null 2>&1
go get "k8s.io/kubectl@v$staging" "k8s.io/component-base@v$staging" \
  "k8s.io/client-go@v$staging" >/dev/null 2>&1 \
  || go get "k8s.io/kubectl@v$staging" "k8s.io/component-base@v$staging" "k8s.io/client-go@v$staging"
# The godebug defaults only apply in the main module: copy kubectl's line.
gomod=$(go mod download -json "k8s.io/kubectl@v$staging" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
gd=$(grep -E '^godebug ' "$gomod" || true)
[ -n "$gd" ] && echo "$gd" >> go.mod
# The same main as k8s.io/kubernetes/cmd/kubectl/kubectl.go at this release.
cat > main.go <<'GO'
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"

	// Import to initialize client auth plugins.
	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

func main() {
	logs.GlogSetter(cmd.GetLogVerbosity(os.Args)) // nolint:errcheck
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
GO
go mod tidy >/dev/null 2>&1 || go mod tidy
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $pkg.gitVersion=v$k8s -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
done
go build -trimpath -ldflags "$ldflags" -o "$work/kubectl.bin" .
mv "$work/kubectl.bin" "$bin"
echo "[kubectl] ready: $bin" >&2
echo "$bin"
