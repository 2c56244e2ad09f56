#!/usr/bin/env bash
# Rebuilds src/Assp.Config/Tls/openssl-ciphers.tsv from the local openssl: every TLS <= 1.2 cipher OpenSSL knows,
# its IANA code, key bits and the cipher-string keywords that select it (used to read SSL_cipher_list).
set -euo pipefail
out="$(dirname "$0")/../src/Assp.Config/Tls/openssl-ciphers.tsv"
keywords="ALL COMPLEMENTOFALL DEFAULT COMPLEMENTOFDEFAULT HIGH MEDIUM LOW eNULL NULL aNULL kRSA aRSA RSA kDHE kEDH DH DHE EDH ADH
kECDHE kEECDH ECDH ECDHE EECDH AECDH aECDSA ECDSA aDSS DSS PSK kPSK kECDHEPSK kDHEPSK kRSAPSK aPSK SRP kSRP aSRP AES AES128
AES256 AESGCM AESCCM AESCCM8 ARIA ARIA128 ARIA256 CAMELLIA CAMELLIA128 CAMELLIA256 CHACHA20 3DES DES RC4 RC2 IDEA SEED MD5
SHA1 SHA SHA256 SHA384 TLSv1.2 TLSv1.0 TLSv1 SSLv3 SUITEB128 SUITEB128ONLY SUITEB192 EXP EXPORT aGOST GOST94 kGOST"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
declare -A members
for k in $keywords; do members[$k]=" $(openssl ciphers -V "$k" 2>/dev/null | grep -v TLSv1.3 | awk '{print $3}' | tr '\n' ' ') "; done
{
  echo "# OpenSSL cipher names (TLS 1.2 and older) as $(openssl version | cut -d' ' -f1-2) lists them for 'ALL:COMPLEMENTOFALL', in its order."
  echo "# Columns: IANA code, OpenSSL name, key bits, the OpenSSL cipher-string keywords that select it."
  echo "# Regenerate with scripts/gen-openssl-ciphers.sh."
  openssl ciphers -V 'ALL:COMPLEMENTOFALL' | grep -v TLSv1.3 | while read -r code _ name _ _ _ enc _; do
    bits=$(sed -n 's/.*(\([0-9]*\)).*/\1/p' <<<"$enc"); tags=()
    for k in $keywords; do [[ ${members[$k]} == *" $name "* ]] && tags+=("$k"); done
    printf '%s\t%s\t%s\t%s\n' "$(tr -d ',' <<<"${code//0x/}")" "$name" "${bits:-0}" "$(printf '%s\n' "${tags[@]}" | sort | tr '\n' ' ' | sed 's/ $//')"
  done
  echo "# keywords OpenSSL knows that select nothing here (legacy ciphers not built in)"
  empty=(); for k in $keywords; do [[ ${members[$k]} == "  " ]] && empty+=("$k"); done
  printf -- '-\t-\t0\t%s\n' "$(printf '%s\n' "${empty[@]}" | sort | tr '\n' ' ' | sed 's/ $//')"
} >"$out"
