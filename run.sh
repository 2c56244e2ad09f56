#!/usr/bin/env bash
# Starts ASSP for .NET on a working default configuration in ./assp-data (override with ASSP_BASE=...).
# Extra arguments go to `assp run`, e.g. ./run.sh --set listenPort=2525
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
bash scripts/install-deps.sh
dotnet publish src/Assp.Server -c Release -o artifacts/assp --nologo -v quiet
exec artifacts/assp/assp run --base "${ASSP_BASE:-$PWD/assp-data}" "$@"
