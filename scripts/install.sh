#!/usr/bin/env bash
# Installs postie and what its tests need on a fresh Debian machine:
#
#   bash scripts/install.sh                  # postie under /usr/local, tests' packages
#   PREFIX=/opt/postie bash scripts/install.sh
#   bash scripts/install.sh --links          # also /usr/sbin/sendmail, mailq, newaliases
#   bash scripts/install.sh --uninstall      # removes postie (and links to it) from PREFIX
#
# postie goes under PREFIX (default /usr/local): the command $PREFIX/bin/postie and its
# files in $PREFIX/lib/postie (`deno task build`; nothing is fetched when it runs). With
# --links (or POSTIE_LINKS=1) the names callers use point at it: /usr/sbin/sendmail and
# /usr/lib/sendmail (bsd-mailx, PHP, cron and git call those paths), $PREFIX/bin/mailq and
# $PREFIX/bin/newaliases; a file already there that is not a link to postie is left alone.
# --no-test-packages skips the Debian packages only the tests use.
#
# Deno 2 comes from the npm registry when missing (globally: a package.json in the
# repository would make `deno test` type-check `node:` imports against a missing
# @types/node); the Debian packages are those the tests talk to.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-/usr/local}
links=${POSTIE_LINKS:-0}
test_packages=1
uninstall=0
for arg in "$@"; do
  case "$arg" in
    --links) links=1 ;;
    --no-test-packages) test_packages=0 ;;
    --uninstall) uninstall=1 ;;
    *)
      echo "install.sh: unknown option $arg (--links, --no-test-packages, --uninstall)" >&2
      exit 64
      ;;
  esac
done
launcher="$prefix/bin/postie"
link_paths=(/usr/sbin/sendmail /usr/lib/sendmail "$prefix/bin/mailq" "$prefix/bin/newaliases")

# A link is postie's when it resolves to this prefix's launcher.
ours() { [ -L "$1" ] && [ "$(readlink -f "$1")" = "$(readlink -f "$launcher")" ]; }

if [ "$uninstall" = 1 ]; then
  for path in "${link_paths[@]}"; do
    if ours "$path"; then rm -f "$path" && echo "removed $path"; fi
  done
  rm -rf "$prefix/lib/postie" "$prefix/lib/postie.new" "$prefix/lib/postie.old" && rm -f "$launcher" &&
    echo "removed postie from $prefix"
  exit 0
fi

if ! command -v deno >/dev/null 2>&1; then
  echo "installing Deno 2 from the npm registry"
  npm install -g --no-fund --no-audit deno@2 >/dev/null
fi

# msmtp: the differential suites; postfix: the real-server tests; gnome-keyring,
# libsecret-tools, dbus: the keyring tests; util-linux: `script` for the prompt tests.
# dovecot-core: SASL behind the test Postfix.
# strace: the test that shows an installed postie opens no connection but the mail's.
packages=(msmtp openssl ca-certificates postfix dovecot-core gnome-keyring libsecret-tools dbus
  util-linux strace)
# Direct delivery (tests/support/dns.ts): nsd serves the test zones, unbound validates them
# (DNSSEC for DANE), ldnsutils signs them (ldns-signzone, ldns-keygen, ldns-key2ds).
packages+=(nsd unbound ldnsutils)
# The relay listener's clients (tests/interop/relay_test.ts): swaks; msmtp, openssl and
# Python's smtplib are there already.
packages+=(swaks)
# The interop matrix and the real callers (scripts/interop_packages.txt): plain names are
# installed; names marked `unpack` conflict with postfix and are unpacked beside it.
unpack=()
while read -r name how; do
  case "$name" in "" | "#"*) continue ;; esac
  if [ "$how" = "unpack" ]; then unpack+=("$name"); else packages+=("$name"); fi
done <"$here/interop_packages.txt"
[ "$test_packages" = 1 ] || packages=()
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
[ "$test_packages" = 1 ] || unpack=()
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
if [ "$test_packages" = 1 ]; then
  for user in Debian-exim opensmtpd opensmtpq; do
    id -u "$user" >/dev/null 2>&1 ||
      useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$user"
  done
fi
deno --version | head -1

# postie itself: built from this checkout straight into PREFIX.
(cd "$here/.." && deno task --quiet build --prefix "$prefix")
if [ "$links" = 1 ]; then
  for path in "${link_paths[@]}"; do
    if [ -e "$path" ] && ! ours "$path"; then
      echo "left $path alone: it is not postie's (remove it, then run this again)" >&2
      continue
    fi
    mkdir -p "$(dirname "$path")"
    ln -sfn "$launcher" "$path" && echo "linked $path -> $launcher"
  done
fi
