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
deno --version | head -1
