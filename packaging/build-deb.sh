#!/usr/bin/env bash
# Builds the Debian package artifacts/assp_<version>_amd64.deb with dpkg-deb.
#
#   packaging/build-deb.sh [--publish-dir DIR] [--out DIR] [--version VERSION]
#
#   --publish-dir DIR  use what scripts/publish.sh already put in DIR (default: run it into artifacts/linux-x64)
#   --out DIR          where the .deb goes (default: artifacts)
#   --version V        package version (default: `assp --version` without its +commit part)
#   DEB_COMPRESSION    dpkg-deb's -Z (default xz; gzip is faster for throw-away test builds)
#   DEB_MAINTAINER     the Maintainer field (default: ASSP for .NET <assp-dotnet@example.org>)
#
# The package holds /usr/bin/assp, /lib/systemd/system/assp.service, /usr/share/doc/assp/ and the maintainer
# scripts of packaging/debian/. A self-contained publish is one file in /usr/bin; a framework-dependent one
# (the fallback of scripts/publish.sh) goes to /usr/lib/assp with a small /usr/bin/assp wrapper, and the
# package then depends on the .NET 10 runtime. The last line printed is the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

publish_dir=""
out="$root/artifacts"
version=""
while [ $# -gt 0 ]; do
  case "$1" in
    --publish-dir) publish_dir="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "build-deb.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v dpkg-deb >/dev/null || { echo "build-deb.sh: dpkg-deb is missing (apt-get install dpkg)" >&2; exit 1; }

if [ -z "$publish_dir" ]; then
  publish_dir="$root/artifacts/linux-x64"
  bash scripts/publish.sh "$publish_dir"
fi
case "$publish_dir" in /*) ;; *) publish_dir="$root/$publish_dir" ;; esac
[ -x "$publish_dir/assp" ] || { echo "build-deb.sh: $publish_dir/assp is missing: run scripts/publish.sh first" >&2; exit 1; }
if [ -f "$publish_dir/assp.dll" ]; then kind=framework-dependent; else kind=self-contained; fi

if [ -z "$version" ]; then
  version="$("$publish_dir/assp" --version)"
  version="${version%%+*}"
fi
[[ "$version" =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || { echo "build-deb.sh: '$version' is not a Debian version" >&2; exit 1; }

mkdir -p "$out"
case "$out" in /*) ;; *) out="$root/$out" ;; esac
stage="$(mktemp -d "${TMPDIR:-/tmp}/assp-deb.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"

# The program.
install -d -m 0755 "$stage/usr/bin"
if [ "$kind" = self-contained ]; then
  install -m 0755 "$publish_dir/assp" "$stage/usr/bin/assp"
  depends="libc6 (>= 2.27), libgcc-s1, libstdc++6, libssl3 | libssl3t64, passwd"
else
  install -d -m 0755 "$stage/usr/lib/assp"
  (cd "$publish_dir" && find . -type f ! -name '*.pdb' ! -name PUBLISH_KIND -print0) | while IFS= read -r -d '' f; do
    install -D -m 0644 "$publish_dir/$f" "$stage/usr/lib/assp/$f"
  done
  chmod 0755 "$stage/usr/lib/assp/assp"
  cat > "$stage/usr/bin/assp" <<'WRAPPER'
#!/bin/sh
# ASSP for .NET, framework-dependent build: runs /usr/lib/assp/assp.dll on the installed .NET 10 runtime.
if command -v dotnet >/dev/null 2>&1; then
    exec dotnet /usr/lib/assp/assp.dll "$@"
fi
exec /usr/lib/assp/assp "$@"
WRAPPER
  chmod 0755 "$stage/usr/bin/assp"
  depends="dotnet-runtime-10.0 | dotnet-runtime-10, passwd"
fi

# The service and the documentation.
install -D -m 0644 packaging/assp.service "$stage/lib/systemd/system/assp.service"
install -d -m 0755 "$stage/usr/share/man/man8"
gzip -9n < packaging/assp.8 > "$stage/usr/share/man/man8/assp.8.gz"
chmod 0644 "$stage/usr/share/man/man8/assp.8.gz"
install -d -m 0755 "$stage/usr/share/doc/assp"
install -m 0644 README.md "$stage/usr/share/doc/assp/README.md"
install -m 0644 docs/install.md "$stage/usr/share/doc/assp/install.md"
maintainer="${DEB_MAINTAINER:-ASSP for .NET <assp-dotnet@example.org>}"
cat > "$stage/usr/share/doc/assp/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: assp
Comment: ASSP for .NET, a C# rewrite of ASSP (the Anti-Spam SMTP Proxy).

Files: *
Copyright: $(date -u +%Y) the ASSP for .NET authors
License: see /usr/share/doc/assp/README.md
COPYRIGHT
# A native package's changelog (lintian wants one).
cat <<CHANGELOG | gzip -9n > "$stage/usr/share/doc/assp/changelog.gz"
assp ($version) unstable; urgency=medium

  * Built by packaging/build-deb.sh ($kind build).

 -- $maintainer  $(date -R)
CHANGELOG
chmod 0644 "$stage/usr/share/doc/assp/changelog.gz"
if [ "$kind" = self-contained ]; then
  # The .NET runtime inside the single file carries its own zlib-ng (statically linked by Microsoft).
  install -d -m 0755 "$stage/usr/share/lintian/overrides"
  printf 'assp: embedded-library zlib [usr/bin/assp]\n' > "$stage/usr/share/lintian/overrides/assp"
  chmod 0644 "$stage/usr/share/lintian/overrides/assp"
fi

# The maintainer scripts and the control file.
install -d -m 0755 "$stage/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "packaging/debian/$s" "$stage/DEBIAN/$s"; done
installed_size="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: assp
Version: $version
Architecture: amd64
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Recommends: ca-certificates
Suggests: default-mta | mail-transport-agent
Section: mail
Priority: optional
Description: anti-spam SMTP proxy (ASSP for .NET)
 ASSP for .NET sits in front of the real mail server on port 25, checks every
 connection and message and passes the good mail on. It reads an ASSP
 administrator's existing assp.cfg and list files unchanged.
 .
 This package installs the assp command ($kind build), the systemd
 service assp.service and the base folder /var/lib/assp, and runs the proxy
 as the system user assp after it has bound its ports.
CONTROL

deb="$out/assp_${version}_amd64.deb"
rm -f "$deb"
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" --build "$stage" "$deb" >/dev/null
echo "Built $deb ($kind, $(du -h "$deb" | cut -f1)):"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
dpkg-deb --contents "$deb"
echo "$deb"
