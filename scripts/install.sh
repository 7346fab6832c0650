#!/usr/bin/env bash
# Installs what postie's tests need on a fresh Debian machine: Deno 2 from the npm registry
# (globally: a package.json in the repository would make `deno test` type-check `node:`
# imports against a missing @types/node) and the Debian packages the tests talk to.
set -euo pipefail

if ! command -v deno >/dev/null 2>&1; then
  echo "installing Deno 2 from the npm registry"
  npm install -g --no-fund --no-audit deno@2 >/dev/null
fi

# msmtp: the differential suites; postfix: the real-server tests; gnome-keyring,
# libsecret-tools, dbus: the keyring tests; util-linux: `script` for the prompt tests.
# dovecot-core: SASL behind the test Postfix.
packages=(msmtp openssl ca-certificates postfix dovecot-core gnome-keyring libsecret-tools dbus
  util-linux)
# Direct delivery (tests/support/dns.ts): nsd serves the test zones, unbound validates them
# (DNSSEC for DANE), ldnsutils signs them (ldns-signzone, ldns-keygen, ldns-key2ds).
packages+=(nsd unbound ldnsutils)
# The interop matrix and the real callers (scripts/interop_packages.txt): plain names are
# installed; names marked `unpack` conflict with postfix and are unpacked beside it.
here=$(cd "$(dirname "$0")" && pwd)
unpack=()
while read -r name how; do
  case "$name" in "" | "#"*) continue ;; esac
  if [ "$how" = "unpack" ]; then unpack+=("$name"); else packages+=("$name"); fi
done <"$here/interop_packages.txt"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Postfix must not configure (or start) a system mail server: the tests run their own.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  # Package scripts must not start system daemons: the tests start their own instances.
  policy=/usr/sbin/policy-rc.d
  own_policy=false
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=true
  fi
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if $own_policy; then rm -f "$policy"; fi
fi

# Exim4 and OpenSMTPD: unpacked (not installed) where tests/support/servers.ts finds them, with
# the system users their binaries were built for.
root=${POSTIE_INTEROP_ROOT:-/opt/postie-interop}
for name in "${unpack[@]}"; do
  [ -d "$root/$name" ] && continue
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && apt-get download -qq "$name" >/dev/null 2>&1); then
    apt-get update -qq >/dev/null # a fresh machine has no package lists yet
    (cd "$tmp" && apt-get download -qq "$name" >/dev/null)
  fi
  mkdir -p "$root/$name"
  dpkg-deb -x "$tmp"/"$name"_*.deb "$root/$name"
  rm -rf "$tmp"
done
for user in Debian-exim opensmtpd opensmtpq; do
  id -u "$user" >/dev/null 2>&1 ||
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$user"
done
deno --version | head -1
