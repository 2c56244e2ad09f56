#!/usr/bin/env bash
# Installs what building and testing need on a Debian machine. Idempotent; quiet when all is present.
set -euo pipefail
need_apt=()
command -v git >/dev/null || need_apt+=(git)
if [ ${#need_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! command -v dotnet >/dev/null || ! dotnet --list-sdks | grep -q '^10\.'; then
  echo "The .NET 10 SDK is required (dotnet on PATH). Debian does not package it; install it from" >&2
  echo "your usual source (the project's build machines have it preinstalled)." >&2
  exit 1
fi
