#!/usr/bin/env bash
# moto server for the AWS adapter tests: DynamoDB and SQS on 127.0.0.1, never real AWS.
#
#   scripts/moto-server.sh install                 venv + requirements (only when they changed)
#   scripts/moto-server.sh path                    installs if needed, prints moto_server's path
#   scripts/moto-server.sh start --pid-file F [--port P] [--log-file L]
#                                                  starts it, waits until it answers, prints
#                                                  AWS_ENDPOINT_URL=http://127.0.0.1:PORT
#   scripts/moto-server.sh stop --pid-file F       stops the server started with that pid file
#
# The venv lives in ${KIT_VENV_DIR:-$HOME/.cache/order-kit/venvs}/moto, outside the work tree,
# so a fresh clone reuses it. The only network used is PyPI, through pip.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
requirements="$here/requirements-moto.txt"
venv="${KIT_VENV_DIR:-$HOME/.cache/order-kit/venvs}/moto"
moto_server="$venv/bin/moto_server"
stamp="$venv/.requirements.sha256"

die() { echo "moto-server.sh: $*" >&2; exit 1; }

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# What the venv was built from: the requirements and the interpreter, so a new Python
# rebuilds it too.
fingerprint() {
  { cat "$requirements"; python3 -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1
}

install() {
  command -v python3 >/dev/null || die "python3 not found"
  [ -f "$requirements" ] || die "$requirements is missing"
  mkdir -p "$(dirname "$venv")"
  # Two test runs installing at once would corrupt the venv; the lock makes the second wait.
  exec 9>"$venv.lock"
  flock 9
  local want
  want=$(fingerprint)
  if [ -x "$moto_server" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exec 9>&-
    return 0
  fi
  echo "moto-server.sh: installing moto into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  [ -x "$moto_server" ] || die "moto_server missing after install"
  echo "$want" >"$stamp"
  exec 9>&-
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

answers() { # moto's own API answers once the server is ready
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/moto-api/" 2>/dev/null
}

start() {
  local pid_file="" port="" log_file=/dev/null
  while [ $# -gt 0 ]; do
    case "$1" in
      --pid-file) pid_file=${2:?--pid-file needs a path}; shift 2 ;;
      --port) port=${2:?--port needs a number}; shift 2 ;;
      --log-file) log_file=${2:?--log-file needs a path}; shift 2 ;;
      *) usage ;;
    esac
  done
  [ -n "$pid_file" ] || die "start needs --pid-file FILE"
  if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    die "a server from $pid_file is already running (pid $(cat "$pid_file"))"
  fi
  install
  port=${port:-$(free_port)}
  # setsid: the server outlives this script (it is stopped with `stop`), and a Ctrl-C in the
  # caller's terminal does not reach it.
  setsid "$moto_server" -H 127.0.0.1 -p "$port" >"$log_file" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$pid_file"
  for _ in $(seq 1 150); do
    if answers "$port"; then
      echo "AWS_ENDPOINT_URL=http://127.0.0.1:$port"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { rm -f "$pid_file"; die "moto_server exited while starting (see $log_file)"; }
    sleep 0.2
  done
  kill "$pid" 2>/dev/null || true
  rm -f "$pid_file"
  die "moto_server did not answer on 127.0.0.1:$port within 30 s"
}

stop() {
  local pid_file=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --pid-file) pid_file=${2:?--pid-file needs a path}; shift 2 ;;
      *) usage ;;
    esac
  done
  [ -n "$pid_file" ] || die "stop needs --pid-file FILE"
  [ -f "$pid_file" ] || return 0
  local pid
  pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  install) install ;;
  path) install; echo "$moto_server" ;;
  start) start "$@" ;;
  stop) stop "$@" ;;
  *) usage ;;
esac
