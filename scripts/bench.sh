#!/usr/bin/env bash
# Side-by-side benchmarks of postie (scripts/postie) and msmtp on loopback sinks; writes
# docs/PERFORMANCE.md. Installs what it needs (hyperfine, GNU time, postfix for smtp-sink,
# socat, openssl, msmtp). Everything listens on 127.0.0.1; every server started here is
# stopped by its PID on exit. Not part of the CI test run; takes about 3-5 minutes.
#
#   scripts/bench.sh            full run, regenerates docs/PERFORMANCE.md
#   BENCH_QUICK=1 scripts/bench.sh   fewer runs, smaller big mail (a smoke test; no doc)
#   BENCH_PORT=26000            first of the four loopback ports used (default 25250)
set -euo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
quick=${BENCH_QUICK:-0}
port0=${BENCH_PORT:-25250}
plain_port=$port0          # smtp-sink
tls_port=$((port0 + 1))    # scripts/bench_sink.ts with STARTTLS
null_port=$((port0 + 2))   # socat into /dev/null: the raw socket floor
big_mb=100
runs_small=20
runs_big=3
runs_batch=3
if [[ $quick == 1 ]]; then
  big_mb=10
  runs_small=5
  runs_big=1
  runs_batch=1
fi

# --- tools ---------------------------------------------------------------------------
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
[[ -x /usr/bin/time ]] || need+=(time)
command -v smtp-sink >/dev/null || [[ -x /usr/sbin/smtp-sink ]] || need+=(postfix)
command -v socat >/dev/null || need+=(socat)
command -v openssl >/dev/null || need+=(openssl)
command -v msmtp >/dev/null || need+=(msmtp)
if ((${#need[@]} > 0)); then
  echo "installing: ${need[*]}" >&2
  sudo=()
  [[ $(id -u) == 0 ]] || sudo=(sudo)
  echo "postfix postfix/main_mailer_type select No configuration" |
    "${sudo[@]}" debconf-set-selections
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null
fi
smtp_sink=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)

# --- scratch space and servers -----------------------------------------------------------
work=$(mktemp -d /tmp/postie-bench.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  local i
  for ((i = 0; i < 100; i++)); do
    if ! port_free "$1"; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1 after 10 s" >&2
  exit 1
}
for port in "$plain_port" "$tls_port" "$null_port"; do
  port_free "$port" || {
    echo "127.0.0.1:$port is in use; set BENCH_PORT" >&2
    exit 1
  }
done

sink_user=nobody
[[ $(id -u) == 0 ]] || sink_user=$(id -un)
sink_args=(-u "$sink_user")
[[ $(id -u) == 0 ]] || sink_args=()
"$smtp_sink" "${sink_args[@]}" "127.0.0.1:$plain_port" 1024 >/dev/null 2>&1 &
pids+=($!)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 2 -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  2>/dev/null
deno run --quiet --allow-net --allow-read "$here/scripts/bench_sink.ts" "$tls_port" \
  "$work/cert.pem" "$work/key.pem" >/dev/null &
pids+=($!)

socat -u "TCP-LISTEN:$null_port,bind=127.0.0.1,reuseaddr,fork" OPEN:/dev/null &
pids+=($!)

wait_port "$plain_port"
wait_port "$tls_port"
wait_port "$null_port"

# --- mails and configurations ---------------------------------------------------------------
mail() { deno run --quiet "$here/scripts/bench_mail.ts" "$1" >"$2"; }
mail 1024 "$work/m1k"
mail 4096 "$work/m4k"
mail $((big_mb * 1024 * 1024)) "$work/big"
deno run --quiet "$here/scripts/bench_wire.ts" <"$work/big" >"$work/big.wire"
big_bytes=$(stat -c %s "$work/big")

common="from bench@example.org
auth off
timeout 60"
printf 'account default\nhost 127.0.0.1\nport %s\n%s\ntls off\n' "$plain_port" "$common" \
  >"$work/plain.rc"
printf 'account default\nhost 127.0.0.1\nport %s\n%s\ntls on\ntls_starttls on\ntls_trust_file %s\n' \
  "$tls_port" "$common" "$work/cert.pem" >"$work/tls.rc"
chmod 600 "$work/plain.rc" "$work/tls.rc"
: >"$work/empty.ts"

rcpts=()
for ((i = 1; i <= 1000; i++)); do rcpts+=("r$i@example.org"); done
printf '%s\n' "${rcpts[@]}" >"$work/rcpts"

postie="$here/scripts/postie"
results="$work/results.tsv"
: >"$results"

# Records one row: id, the wall times in seconds (comma separated), the peak RSS in KB
# (comma separated, may be empty).
record() { printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >>"$results"; }

# hyperfine: the commands run through sh (hyperfine subtracts the shell's own start-up).
timed() {
  local id=$1 runs=$2 cmd=$3 json="$work/$1.json"
  echo "== $id: $cmd" >&2
  hyperfine --style none --warmup 2 --runs "$runs" --export-json "$json" "$cmd" >/dev/null
  record "$id" "$(deno run --quiet --allow-read "$here/scripts/bench_report.ts" times "$json")"
}

# GNU time: wall (10 ms resolution, fine for runs of a second) and peak RSS per run.
measured() {
  local id=$1 runs=$2 input=$3 walls=() rss=() i out
  shift 3
  echo "== $id: $* < $(basename "$input")" >&2
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -o "$work/time.out" -f '%e %M' "$@" <"$input" >/dev/null 2>&1
    out=$(tail -1 "$work/time.out")
    walls+=("${out% *}")
    rss+=("${out#* }")
  done
  record "$id" "$(IFS=,; echo "${walls[*]}")" "$(IFS=,; echo "${rss[*]}")"
}

# --- start-up -------------------------------------------------------------------------------
timed startup.floor "$runs_small" "deno run --quiet $work/empty.ts"
timed startup.postie "$runs_small" "$postie --version"
timed startup.msmtp "$runs_small" "msmtp --version"

# --- (a) one 1 KB mail per process ----------------------------------------------------------
for kind in plain tls; do
  timed "small.$kind.postie" "$runs_small" "$postie -C $work/$kind.rc sink@example.org <$work/m1k"
  timed "small.$kind.msmtp" "$runs_small" "msmtp -C $work/$kind.rc sink@example.org <$work/m1k"
  measured "smallrss.$kind.postie" 3 "$work/m1k" "$postie" -C "$work/$kind.rc" sink@example.org
  measured "smallrss.$kind.msmtp" 3 "$work/m1k" msmtp -C "$work/$kind.rc" sink@example.org
done

# --- (b) one big mail -----------------------------------------------------------------------
for kind in plain tls; do
  measured "big.$kind.postie" "$runs_big" "$work/big" "$postie" -C "$work/$kind.rc" \
    sink@example.org
  measured "big.$kind.msmtp" "$runs_big" "$work/big" msmtp -C "$work/$kind.rc" sink@example.org
done
# floors: the SMTP bytes postie puts on the wire, copied raw into the same smtp-sink; and the
# mail copied raw into a socket that discards it
measured big.floor.sink "$runs_big" "$work/big.wire" socat -u STDIN "TCP:127.0.0.1:$plain_port"
measured big.floor.null "$runs_big" "$work/big" socat -u STDIN "TCP:127.0.0.1:$null_port"

# --- (c) one mail to 1 000 recipients ------------------------------------------------------
timed rcpt.postie "$runs_big" "xargs -a $work/rcpts $postie -C $work/plain.rc <$work/m1k"
timed rcpt.msmtp "$runs_big" "xargs -a $work/rcpts msmtp -C $work/plain.rc <$work/m1k"

# --- (d) 200 mails of 4 KB, one process each ------------------------------------------------
loop() { echo "for i in \$(seq 200); do $1 -C $work/plain.rc sink@example.org <$work/m4k; done"; }
timed batch.postie "$runs_batch" "$(loop "$postie")"
timed batch.msmtp "$runs_batch" "$(loop msmtp)"
timed batch.floor "$runs_batch" "for i in \$(seq 200); do deno run --quiet $work/empty.ts; done"

# --- the report ----------------------------------------------------------------------------
if [[ $quick == 1 ]]; then
  deno run --quiet --allow-read "$here/scripts/bench_report.ts" report "$results" "$big_bytes"
else
  deno run --quiet --allow-read "$here/scripts/bench_report.ts" report "$results" "$big_bytes" |
    deno fmt --quiet --ext md - >"$here/docs/PERFORMANCE.md"
  echo "wrote docs/PERFORMANCE.md" >&2
fi

# --- the relay listener under load (scripts/bench_relay.ts) --------------------------------
# Kept apart from the sections above: N clients × M mails into `postie -bd` and into Postfix's
# smtpd on this machine, appended to the report. Postfix needs root; without it only postie
# is measured.
relay_clients=10
relay_mails=100
[[ $quick == 1 ]] && relay_mails=20
relay_report=$(deno run --quiet --allow-all "$here/scripts/bench_relay.ts" "$relay_clients" "$relay_mails")
if [[ $quick == 1 ]]; then
  echo "$relay_report"
else
  { echo; echo "$relay_report"; } | deno fmt --quiet --ext md - >>"$here/docs/PERFORMANCE.md"
  echo "appended the relay section to docs/PERFORMANCE.md" >&2
fi
