#!/usr/bin/env bash
# Prints the path of a helm binary on stdout, building Helm with Go when none is found.
# Order: $HELM (if executable), helm on PATH, then Go's bin folder ($(go env GOBIN), else
# the first entry of $(go env GOPATH) + /bin); otherwise `go install` builds it there.
# Build output goes to stderr, so `HELM=$(scripts/ensure-helm.sh)` captures only the path.
set -euo pipefail

HELM_MODULE="helm.sh/helm/v4/cmd/helm"
HELM_VERSION="v4.3.2"

if [[ -n "${HELM:-}" && -x "${HELM}" ]]; then
  printf '%s\n' "${HELM}"
  exit 0
fi

if found="$(command -v helm)"; then
  printf '%s\n' "${found}"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "ensure-helm: no helm on PATH and no go to build it with" >&2
  exit 1
fi

bin_dir="$(go env GOBIN)"
if [[ -z "${bin_dir}" ]]; then
  gopath="$(go env GOPATH)"
  bin_dir="${gopath%%:*}/bin"
fi

if [[ ! -x "${bin_dir}/helm" ]]; then
  echo "ensure-helm: building ${HELM_MODULE}@${HELM_VERSION} into ${bin_dir}" >&2
  go install "${HELM_MODULE}@${HELM_VERSION}" >&2
fi

if [[ ! -x "${bin_dir}/helm" ]]; then
  echo "ensure-helm: go install finished but ${bin_dir}/helm is missing" >&2
  exit 1
fi
printf '%s\n' "${bin_dir}/helm"
