#!/usr/bin/env bash
# The main job on a fresh machine: start the capture SMTP server on 127.0.0.1, send a sample
# mail through the installed command ($PREFIX/bin/postie, as scripts/install.sh put it), then
# show the SMTP conversation and the mail exactly as the server stored it.
set -euo pipefail
cd "$(dirname "$0")/.."
postie=${POSTIE_BIN:-${PREFIX:-/usr/local}/bin/postie}
if [ ! -x "$postie" ]; then
  echo "demo: $postie is not installed; run: bash scripts/install.sh" >&2
  exit 69
fi
work=$(mktemp -d)
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

deno run --quiet --allow-net=127.0.0.1 --allow-write="$work" scripts/capture_server.ts \
  --port=0 --sessions=1 --store="$work" >"$work/server.out" &
server_pid=$!
for _ in $(seq 100); do
  grep -q '^listening on' "$work/server.out" 2>/dev/null && break
  sleep 0.1
done
port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/server.out")

cat >"$work/msmtprc" <<RC
account default
host 127.0.0.1
port $port
from demo@postie.example
logfile -
RC

echo "== sending with: $postie -C msmtprc -t   (the mail below on standard input)"
mail=$'From: Demo <demo@postie.example>\nTo: Alice <alice@example.org>\nBcc: audit@example.org\nSubject: Hello from postie\n\nThis mail went through the postie command line.\n.A line starting with a dot is dot-stuffed on the wire.\n'
printf '%s' "$mail" | sed 's/^/    /'
set +e
printf '%s' "$mail" | "$postie" -C "$work/msmtprc" -t
status=$?
set -e
echo "== postie exited with $status"
wait "$server_pid" || true
echo "== the SMTP conversation, as the server saw it"
grep -v '^listening on' "$work/server.out" | sed 's/^/    /'
echo "== the mail as the server stored it"
for f in "$work"/mail-*.eml; do [ -e "$f" ] && sed 's/\r$//; s/^/    /' "$f"; done
exit "$status"
