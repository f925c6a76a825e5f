# Pinned Python tool venvs, shared by the scripts that need one (sourced, not run).
#
# A requirements file holds one or more sections, each starting with a "# venv: NAME" line;
# NAME's venv lives in ${KIT_VENV_DIR:-$HOME/.cache/order-kit/venvs}/NAME, outside the work
# tree, and is (re)built only when its requirement lines or the Python version change.
#
#   source scripts/lib/venvs.sh
#   ensure_venv REQUIREMENTS_FILE NAME     # then "$VENV_ROOT/NAME/bin/..." is ready

VENV_ROOT="${KIT_VENV_DIR:-$HOME/.cache/order-kit/venvs}"
PYTHON="${PYTHON:-python3}"

# Prints the requirement lines of one "# venv: NAME" section of FILE.
requirements_of() {
  awk -v want="$2" '
    /^# venv:/ { name = $3; next }
    /^[[:space:]]*(#|$)/ { next }
    name == want { print $1 }
  ' "$1"
}

venv_names() { awk '/^# venv:/ { print $3 }' "$1"; }

# Creates or refreshes one venv; the stamp is a hash of its pins and the Python version. Two
# runs installing the same venv at once would corrupt it: the lock makes the second wait.
ensure_venv() {
  local file=$1 name=$2 dir="$VENV_ROOT/$2" reqs stamp
  reqs=$(requirements_of "$file" "$name")
  if [[ -z "$reqs" ]]; then
    echo "venvs: no requirements for venv $name in $file" >&2
    return 1
  fi
  if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    echo "venvs: $PYTHON cannot create virtualenvs (Debian: apt-get install python3-venv)" >&2
    return 1
  fi
  mkdir -p "$VENV_ROOT"
  stamp=$({ printf '%s\n' "$reqs"; "$PYTHON" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)
  (
    set -e
    # util-linux's flock; where there is none (macOS), two installs at once are the risk.
    if command -v flock >/dev/null; then flock 9; fi
    if [[ -f "$dir/.requirements.sha256" && "$(cat "$dir/.requirements.sha256")" == "$stamp" ]]; then
      exit 0
    fi
    printf '\n== installing %s into %s\n' "$name" "$dir"
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir"
    # shellcheck disable=SC2086 # one requirement per word, by design
    "$dir/bin/pip" install --quiet --no-input --disable-pip-version-check $reqs
    printf '%s\n' "$stamp" >"$dir/.requirements.sha256"
  ) 9>"$VENV_ROOT/$name.lock"
}
