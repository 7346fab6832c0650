#!/usr/bin/env bash
# Side-by-side benchmarks on loopback sinks; writes docs/PERFORMANCE.md. Compared: the installed
# postie, Debian's msmtp, a minimal Deno client (scripts/bench_deno_client.ts: the runtime's
# floor) and nodemailer under Node.js (the JavaScript peer; installed from npm into the scratch
# directory, for the benchmark only). Each group of cases runs interleaved in one run
# (scripts/bench_run.ts), so the ratios compare like with like on a shared machine.
#
# Installs what it needs (GNU time, postfix for smtp-sink, socat, openssl, msmtp). Everything
# listens on 127.0.0.1; every server started here is stopped by its PID on exit. Not part of
# the CI test run; takes 5-15 minutes depending on the machine's load.
#
#   bash scripts/bench.sh                  full run, regenerates docs/PERFORMANCE.md
#   BENCH_QUICK=1 bash scripts/bench.sh    fewer runs, a 10 MB big mail (a smoke test; no doc)
#   BENCH_PORT=26000                       first of the four loopback ports used (default 25250)
#   POSTIE_BIN=/usr/local/bin/postie       the postie to measure (default: $PREFIX/bin/postie
#                                          when installed, else one built into the scratch dir)
set -euo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
quick=${BENCH_QUICK:-0}
port0=${BENCH_PORT:-25250}
plain_port=$port0       # smtp-sink: a real server's plain SMTP
tls_port=$((port0 + 1)) # scripts/bench_sink.ts with STARTTLS
fast_port=$((port0 + 2)) # scripts/bench_sink.ts plain: the fast sink for the big mail
null_port=$((port0 + 3)) # socat into /dev/null: the raw socket floor
big_mb=100
runs_small=20
runs_big=3
runs_batch=1
batch_mails=200
if [[ $quick == 1 ]]; then
  big_mb=10
  runs_small=5
  runs_big=1
  batch_mails=20
fi

# --- tools ---------------------------------------------------------------------------
need=()
[[ -x /usr/bin/time ]] || need+=(time)
command -v smtp-sink >/dev/null || [[ -x /usr/sbin/smtp-sink ]] || need+=(postfix)
command -v socat >/dev/null || need+=(socat)
command -v openssl >/dev/null || need+=(openssl)
command -v msmtp >/dev/null || need+=(msmtp)
command -v npm >/dev/null || need+=(npm)
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

# --- scratch space, postie, nodemailer, servers ------------------------------------------
work=$(mktemp -d /tmp/postie-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

postie=${POSTIE_BIN:-${PREFIX:-/usr/local}/bin/postie}
if [[ -z ${POSTIE_BIN:-} && ! -x $postie ]]; then
  echo "building postie into $work/prefix ($postie is not installed)" >&2
  (cd "$here" && deno task --quiet build --prefix "$work/prefix" >/dev/null)
  postie=$work/prefix/bin/postie
fi
launcher_floor=$work/launcher-floor
# The launcher's own cost: postie's #! line (its Deno, flags, permission set and cache) on an
# empty module.
sed -n '1p' "$postie" >"$launcher_floor"
chmod 755 "$launcher_floor"

mkdir -p "$work/nm"
cp "$here/scripts/bench_nodemailer.mjs" "$work/nm/client.mjs"
echo "installing nodemailer (npm) into the scratch directory" >&2
(cd "$work/nm" && npm install --silent --no-fund --no-audit --no-save nodemailer@6 >/dev/null)

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
for port in "$plain_port" "$tls_port" "$fast_port" "$null_port"; do
  port_free "$port" || {
    echo "127.0.0.1:$port is in use; set BENCH_PORT" >&2
    exit 1
  }
done

sink_args=(-u nobody)
[[ $(id -u) == 0 ]] || sink_args=()
"$smtp_sink" "${sink_args[@]}" "127.0.0.1:$plain_port" 1024 >/dev/null 2>&1 &
pids+=($!)
# rustls (Deno.startTls) refuses a self-signed leaf as its own CA: a CA and a leaf signed by it
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$work/ca.key" -out "$work/ca.pem" -subj "/CN=bench CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/key.pem" \
  -out "$work/leaf.csr" -subj "/CN=localhost" 2>/dev/null
openssl x509 -req -in "$work/leaf.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
  -CAcreateserial -days 2 -out "$work/cert.pem" \
  -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n') 2>/dev/null
deno run --quiet --allow-net --allow-read "$here/scripts/bench_sink.ts" "$tls_port" \
  "$work/cert.pem" "$work/key.pem" >/dev/null &
pids+=($!)
deno run --quiet --allow-net --allow-read "$here/scripts/bench_sink.ts" "$fast_port" >/dev/null &
pids+=($!)
socat -u "TCP-LISTEN:$null_port,bind=127.0.0.1,reuseaddr,fork" OPEN:/dev/null &
pids+=($!)
for port in "$plain_port" "$tls_port" "$fast_port" "$null_port"; do wait_port "$port"; done

# --- mails and configurations ---------------------------------------------------------------
mail() { deno run --quiet "$here/scripts/bench_mail.ts" "$1" >"$2"; }
mail 1024 "$work/m1k"
mail 4096 "$work/m4k"
mail $((big_mb * 1024 * 1024)) "$work/big"
deno run --quiet "$here/scripts/bench_wire.ts" <"$work/big" >"$work/big.wire"
big_bytes=$(stat -c %s "$work/big")

rc() { # name port tls
  {
    printf 'account default\nhost 127.0.0.1\nport %s\nfrom bench@example.org\n' "$2"
    printf 'auth off\ntimeout 60\n'
    if [[ $3 == on ]]; then
      printf 'tls on\ntls_starttls on\ntls_trust_file %s\n' "$work/ca.pem"
    else
      printf 'tls off\n'
    fi
  } >"$work/$1.rc"
  chmod 600 "$work/$1.rc"
}
rc plain "$plain_port" off
rc tls "$tls_port" on
rc fast "$fast_port" off
: >"$work/empty.js"

rcpts=()
for ((i = 1; i <= 1000; i++)); do rcpts+=("r$i@example.org"); done

plan=$work/plan.tsv
: >"$plan"
# case GROUP ROUNDS ID STDIN PROGRAM ARG…: one line of the plan (scripts/bench_run.ts)
case_() {
  local IFS=$'\t'
  printf '%s\n' "$*" >>"$plan"
}
deno_client=(deno run --quiet --allow-net --allow-read "$here/scripts/bench_deno_client.ts")
nodemailer=(node "$work/nm/client.mjs")
# clients GROUP ROUNDS ID-PREFIX STDIN PORT CA RCPT…: the four clients, one after the other
clients() {
  local group=$1 rounds=$2 id=$3 stdin=$4 port=$5 ca=$6 kind
  shift 6
  case $port in "$plain_port") kind=plain ;; "$tls_port") kind=tls ;; *) kind=fast ;; esac
  case_ "$group" "$rounds" "$id.postie" "$stdin" "$postie" -C "$work/$kind.rc" "$@"
  case_ "$group" "$rounds" "$id.msmtp" "$stdin" msmtp -C "$work/$kind.rc" "$@"
  case_ "$group" "$rounds" "$id.deno" "$stdin" "${deno_client[@]}" 127.0.0.1 "$port" "$ca" "$@"
  case_ "$group" "$rounds" "$id.nodemailer" "$stdin" "${nodemailer[@]}" 127.0.0.1 "$port" "$ca" "$@"
}

# --- start-up ---------------------------------------------------------------------------------
case_ startup "$runs_small" overhead /dev/null true
case_ startup "$runs_small" startup.floor /dev/null deno run --quiet "$work/empty.js"
case_ startup "$runs_small" startup.launcher /dev/null "$launcher_floor"
case_ startup "$runs_small" startup.postie /dev/null "$postie" --version
case_ startup "$runs_small" startup.msmtp /dev/null msmtp --version
case_ startup "$runs_small" startup.node /dev/null node -e ""

# --- (a) one 1 KB mail per process --------------------------------------------------------
clients small.plain "$runs_small" small.plain "$work/m1k" "$plain_port" - sink@example.org
clients small.tls "$runs_small" small.tls "$work/m1k" "$tls_port" "$work/ca.pem" sink@example.org

# --- (b) one big mail into the fast sink ----------------------------------------------------
clients big.plain "$runs_big" big.plain "$work/big" "$fast_port" - sink@example.org
# floors: the SMTP bytes postie puts on the wire, copied raw into the same sink; the mail
# copied raw into a socket that discards it
case_ big.plain "$runs_big" big.floor.sink "$work/big.wire" socat -u STDIN "TCP:127.0.0.1:$fast_port"
case_ big.plain "$runs_big" big.floor.null "$work/big" socat -u STDIN "TCP:127.0.0.1:$null_port"
clients big.tls "$runs_big" big.tls "$work/big" "$tls_port" "$work/ca.pem" sink@example.org

# --- (c) one mail to 1 000 recipients (smtp-sink) -------------------------------------------
clients rcpt "$runs_big" rcpt "$work/m1k" "$plain_port" - "${rcpts[@]}"

# --- (d) 200 mails of 4 KB, one process each (smtp-sink) --------------------------------------
loop() {
  echo "for i in \$(seq $batch_mails); do $1 -C $work/plain.rc sink@example.org <$work/m4k; done"
}
case_ batch "$runs_batch" batch.postie /dev/null sh -c "$(loop "$postie")"
case_ batch "$runs_batch" batch.msmtp /dev/null sh -c "$(loop msmtp)"
case_ batch "$runs_batch" batch.floor /dev/null sh -c \
  "for i in \$(seq $batch_mails); do deno run --quiet $work/empty.js; done"

# --- queue benchmarks: scripts/bench_queue.ts, run after the report (its own page) ----------

# --- relay benchmarks ----------------------------------------------------------------------------
# The relay's load benchmark measures one long-running listener (mails/s, p99 latency under N
# concurrent clients), not runs of a command, so it is no group here: it runs after the report
# and appends its own section (the end of this script, scripts/bench_relay.ts).

# --- run and report -----------------------------------------------------------------------------
results=$work/results.tsv
load_start=$(cut -d' ' -f1 /proc/loadavg)
deno run --quiet --allow-run --allow-read --allow-write "$here/scripts/bench_run.ts" "$plan" \
  >"$results"
versions="msmtp $(msmtp --version | sed -n '1s/^msmtp version //p'), Node.js $(node --version), \
nodemailer $(cd "$work/nm" && node -p 'require("nodemailer/package.json").version'); \
load average $load_start at the start, $(cut -d' ' -f1 /proc/loadavg) at the end"
report=(deno run --quiet --allow-read "$here/scripts/bench_report.ts" report "$results"
  "$big_bytes" "$postie" "$versions")
# the raw rows stay (git-ignored) for bench_report.ts, and the command that turns them into the page
mkdir -p "$here/.build/bench"
cp "$results" "$here/.build/bench/results.tsv"
printf '%q ' "${report[@]/#$results/$here/.build/bench/results.tsv}" >"$here/.build/bench/report.sh"
if [[ $quick == 1 ]]; then
  "${report[@]}"
else
  "${report[@]}" | deno fmt --quiet --ext md - >"$here/docs/PERFORMANCE.md"
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

# --- the queue: its own script and page (docs/QUEUE_PERFORMANCE.md) ---------------------------
# 200 queued 4 KB mails sent by one `postie -q` against msmtp one process each, and the
# queueing rate against a raw write+fsync+rename loop, into the same smtp-sink
queue_out="$here/docs/QUEUE_PERFORMANCE.md"
[[ $quick == 1 ]] && queue_out="$work/queue.md"
deno run --quiet --allow-all "$here/scripts/bench_queue.ts" --port="$plain_port" \
  --postie="$postie" --runs="$runs_batch" --out="$queue_out"
if [[ $quick == 1 ]]; then cat "$queue_out"; fi
