#!/usr/bin/env bash
# Installs what the end-to-end tests need on a Debian machine: a real Postfix (the downstream MTA the
# tests start private instances of), swaks (SMTP client) with libnet-ssleay-perl (its --tls; only a
# Recommends, which --no-install-recommends would skip), openssl (self-signed certs for STARTTLS) and
# Cyrus SASL with sasldb (SMTP AUTH PLAIN/LOGIN: libsasl2-modules has the PLAIN/LOGIN mechanisms,
# libsasl2-modules-db the sasldb auxprop plugin, sasl2-bin the saslpasswd2 tool).
# Idempotent and non-interactive; runs apt-get update only when something is missing. Needs root.
# It never starts or enables the system postfix service: the tests never use it.
# nsd (authoritative DNS server) serves the DNS test zones; the tests start private instances on loopback,
# so its system service is disabled as well.
# python3-dkim (dkimpy) with python3-nacl (its Ed25519) is the independent DKIM/ARC verifier the DKIM tests
# check our signatures with; it installs no service. libmail-dkim-perl (Mail::DKIM, the library ASSP verifies
# with) signs the DomainKeys test messages.
# slapd (OpenLDAP) with ldap-utils (ldapadd) answers the LDAP recipient-validation tests: they start private
# instances from their own slapd.conf; the package is installed without a configuration and its service is off.
# clamav-daemon (clamd) scans for viruses; the tests start private instances with a signature database they
# write, so clamd's and freshclam's system services are disabled (no signature download is wanted).
# postgresql (its server binaries initdb/pg_ctl) backs the shared-store tests: they create private clusters in
# temp folders (as nobody when run as root), so the cluster the package creates stays stopped and disabled.
# chromium (Debian's build) with fonts-liberation is the headless browser the web admin tests drive through
# Playwright (executablePath /usr/bin/chromium; Playwright's own browser download is never used). No service.
# libicu-dev pulls in the current libicu (its runtime name carries the version): DoTransliterate loads ICU's
# transliterator from it; the package name is the stable one. No service.
# tnef (Debian's TNEF decoder) is the independent check of our winmail.dat decoding. No service.
# perl (with its DB_File and libdb, as pop-before-smtp uses them) writes the Berkeley DB files the PopB4SMTPFile
# tests read. No service.
set -euo pipefail

packages=(postfix swaks libnet-ssleay-perl openssl libsasl2-modules libsasl2-modules-db sasl2-bin nsd python3-dkim python3-nacl libmail-dkim-perl slapd ldap-utils clamav-daemon postgresql chromium fonts-liberation libicu-dev tnef perl)
missing=()
for p in "${packages[@]}"; do
  # "install ok installed" only; a removed-but-configured package must be reinstalled.
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps.sh: missing ${missing[*]} and not root; run it as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
postfix_was_installed=yes
[[ " ${missing[*]} " == *" postfix "* ]] && postfix_was_installed=no

# "No configuration": the package leaves /etc/postfix/main.cf alone and the system instance unconfigured.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections

# policy-rc.d 101 keeps maintainer scripts from starting services (sasl2-bin's saslauthd too).
# Only ours is removed afterwards; an existing one is left as it was.
policy=/usr/sbin/policy-rc.d
own_policy=no
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  own_policy=yes
fi
cleanup() { if [ "$own_policy" = yes ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

if [ "$postfix_was_installed" = no ]; then
  # Keep the system service off at boot, and stop it should anything have started it anyway.
  if command -v systemctl >/dev/null; then systemctl disable postfix >/dev/null 2>&1 || true; fi
  if command -v update-rc.d >/dev/null; then update-rc.d postfix disable >/dev/null 2>&1 || true; fi
  if [ -f /etc/postfix/main.cf ] && /usr/sbin/postfix status >/dev/null 2>&1; then
    /usr/sbin/postfix stop >/dev/null 2>&1 || true
  fi
fi

if [[ " ${missing[*]} " == *" nsd "* ]]; then
  # The tests run their own nsd; the system one stays off.
  if command -v systemctl >/dev/null; then systemctl disable nsd >/dev/null 2>&1 || true; fi
  if command -v update-rc.d >/dev/null; then update-rc.d nsd disable >/dev/null 2>&1 || true; fi
fi

if [[ " ${missing[*]} " == *" slapd "* ]]; then
  # The tests run their own slapd; the system one stays off.
  if command -v systemctl >/dev/null; then systemctl disable slapd >/dev/null 2>&1 || true; fi
  if command -v update-rc.d >/dev/null; then update-rc.d slapd disable >/dev/null 2>&1 || true; fi
fi

if [[ " ${missing[*]} " == *" clamav-daemon "* ]]; then
  for service in clamav-daemon clamav-freshclam; do
    if command -v systemctl >/dev/null; then systemctl disable --now "$service" >/dev/null 2>&1 || true; fi
    if command -v update-rc.d >/dev/null; then update-rc.d "$service" disable >/dev/null 2>&1 || true; fi
  done
fi

if [[ " ${missing[*]} " == *" postgresql "* ]]; then
  # The tests run their own clusters; the system one stays off.
  if command -v systemctl >/dev/null; then systemctl disable --now postgresql >/dev/null 2>&1 || true; fi
  if command -v update-rc.d >/dev/null; then update-rc.d postgresql disable >/dev/null 2>&1 || true; fi
fi
