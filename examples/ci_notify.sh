#!/bin/sh
# Mails the outcome of a CI job with its log attached, through postie configured from the
# environment alone: no configuration file on the runner, the password from a CI secret.
#
#   ci_notify.sh STATUS LOG_FILE RECIPIENT...
#
# STATUS is a word for the subject (passed, failed); LOG_FILE is attached, and its last lines
# are quoted in the text. The account comes from POSTIE_* variables: POSTIE_HOST, POSTIE_PORT,
# POSTIE_TLS, POSTIE_AUTH, POSTIE_USER, POSTIE_FROM, and the password as POSTIE_PASSWORD or,
# read from a secret file, POSTIE_PASSWORD_FILE. POSTIE names the command (default: postie).
# GitHub Actions and GitLab CI describe the job in the text; elsewhere the directory's name does.
# Exits with postie's code: 0 when the server accepted the mail.
set -eu

if [ "$#" -lt 3 ]; then
  echo "usage: ${0##*/} STATUS LOG_FILE RECIPIENT..." >&2
  exit 64
fi
status=$1
log=$2
shift 2

project=${CI_PROJECT_PATH:-${GITHUB_REPOSITORY:-${PWD##*/}}}
ref=${CI_COMMIT_REF_NAME:-${GITHUB_REF_NAME:-}}
commit=${CI_COMMIT_SHA:-${GITHUB_SHA:-}}
if [ -n "${CI_JOB_URL:-}" ]; then
  url=$CI_JOB_URL
elif [ -n "${GITHUB_RUN_ID:-}" ]; then
  url=${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID
else
  url=
fi

{
  echo "The job of $project${ref:+ on $ref} $status."
  echo
  [ -z "$commit" ] || echo "Commit: $commit"
  [ -z "$url" ] || echo "Job:    $url"
  echo
  echo "The last lines of ${log##*/} (attached in full):"
  echo
  # a missing log is reported by postie itself, naming the file
  tail -n 20 -- "$log" 2>/dev/null || true
} | "${POSTIE:-postie}" --subject="[$project] ${ref:+$ref: }$status" --attach="$log" -- "$@"
