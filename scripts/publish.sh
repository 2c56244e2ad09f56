#!/usr/bin/env bash
# Publishes the `assp` executable for Linux x64.
#
#   scripts/publish.sh [OUTPUT_DIR]          (default: artifacts/linux-x64)
#
# First choice: one self-contained file (OUTPUT_DIR/assp) that needs no .NET on the target machine. That needs
# the linux-x64 runtime pack (Microsoft.NETCore.App.Runtime.linux-x64) from the NuGet mirror; when it cannot be
# had, the script falls back to a framework-dependent build (OUTPUT_DIR/assp.dll plus its apphost `assp`) that
# needs the .NET 10 runtime on the target, and says so.
# The last line of the output, and the file OUTPUT_DIR/PUBLISH_KIND, tell which it was: self-contained or
# framework-dependent.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

out="${1:-artifacts/linux-x64}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

rm -rf "$out"
mkdir -p "$out"
echo "Publishing src/Assp.Server as one self-contained file for linux-x64 into $out ..."
if dotnet publish src/Assp.Server -c Release -r linux-x64 --self-contained \
     -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -p:DebugType=none -o "$out" --nologo >"$log" 2>&1; then
  kind=self-contained
else
  echo "The self-contained publish failed (most likely the NuGet mirror lacks the linux-x64 runtime pack):"
  grep -E "error|NU1[0-9]{3}" "$log" | sort -u | head -n 10 || tail -n 10 "$log"
  echo "Falling back to a framework-dependent build: the target machine needs the .NET 10 runtime (dotnet)."
  rm -rf "$out"
  mkdir -p "$out"
  if ! dotnet publish src/Assp.Server -c Release --no-self-contained -p:DebugType=none -o "$out" --nologo >"$log" 2>&1; then
    cat "$log"
    echo "publish failed" >&2
    exit 1
  fi
  kind=framework-dependent
fi
echo "$kind" > "$out/PUBLISH_KIND"
version="$("$out/assp" --version 2>/dev/null || true)"
echo "Published assp ${version:-?} ($kind) to $out:"
ls -l "$out"
echo "publish: $kind"
