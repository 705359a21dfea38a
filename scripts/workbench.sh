#!/usr/bin/env bash
# Set up and run TLS Workbench on a Debian machine. Needs only bash and Python 3.11 or newer.
#
#   bash scripts/workbench.sh lab  [--port N]              set up, then open JupyterLab on notebooks/
#   bash scripts/workbench.sh test [pytest options]        set up (with test programs), then run the tests
#   bash scripts/workbench.sh setup                        set up everything `test` needs, run nothing
#
# Set-up is idempotent and quick when there is nothing to do:
# - .venv is created when missing (with python3-venv from apt when Python cannot make one);
# - the project is pip-installed (`-e .[test]`) only when pyproject.toml changed since the last
#   install, tracked by the hash in .venv/.workbench-installed;
# - missing Debian packages are installed with apt-get when running as root (otherwise a note
#   says which are missing, and the tests that need them are skipped).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${WORKBENCH_VENV:-$ROOT/.venv}"
STAMP="$VENV/.workbench-installed"
# Programs run as TLS peers and to capture: openssl, gnutls-cli/-serv/certtool, tshark, ip.
PEER_PACKAGES=(openssl gnutls-bin tshark iproute2)
# Browser tests drive Debian's chromium (Playwright never downloads its own).
TEST_PACKAGES=("${PEER_PACKAGES[@]}" chromium)

log() { printf '[workbench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

usage() {
    sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# --- Debian packages ----------------------------------------------------------------------

missing_debian_packages() {
    local package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || echo "$package"
    done
}

ensure_debian_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        log "not a Debian system; make sure these are installed: $*"
        return 0
    fi
    local missing
    missing="$(missing_debian_packages "$@" | tr '\n' ' ')"
    missing="${missing% }"
    [ -z "$missing" ] && return 0
    if ! is_root; then
        log "missing Debian packages: $missing"
        log "install them as root: apt-get install -y $missing (until then the tests needing them are skipped)"
        return 0
    fi
    log "installing Debian packages: $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086  # one word per package
    apt-get install -y -q $missing
}

# --- Python virtual environment -----------------------------------------------------------

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

venv_works() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}

ensure_venv() {
    venv_works && return 0
    local python
    python="$(find_python)" || die "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)"
    [ -e "$VENV" ] && { log "replacing $VENV: it has no working pip"; rm -rf "$VENV"; }
    log "creating $VENV with $("$python" --version 2>&1)"
    if ! "$python" -m venv "$VENV" 2>/dev/null; then
        # Debian's own Python makes venvs only with python3-venv installed.
        rm -rf "$VENV"
        is_root || die "'$python -m venv' failed; as root: apt-get install -y python3-venv"
        ensure_debian_packages python3-venv
        "$python" -m venv "$VENV"
    fi
}

ensure_project_installed() {
    local wanted
    wanted="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
        return 0
    fi
    log "installing tls-workbench with its test tools into $VENV (pyproject.toml changed or first run)"
    local quiet=()
    [ -n "${CI:-}" ] && quiet=(--progress-bar off)
    "$VENV/bin/python" -m pip install --disable-pip-version-check "${quiet[@]}" -e "$ROOT[test]"
    echo "$wanted" >"$STAMP"
}

# --- commands -------------------------------------------------------------------------------

cmd_setup() {
    local started=$SECONDS
    ensure_debian_packages "${TEST_PACKAGES[@]}"
    ensure_venv
    ensure_project_installed
    log "set-up done in $((SECONDS - started)) s"
}

cmd_lab() {
    ensure_debian_packages "${PEER_PACKAGES[@]}"
    ensure_venv
    ensure_project_installed
    mkdir -p "$ROOT/notebooks"
    cd "$ROOT"
    if [ -f "$ROOT/workbench/cli.py" ]; then
        exec "$VENV/bin/tls-workbench" lab "$@"
    fi
    local as_root=()
    is_root && as_root=(--allow-root)
    exec "$VENV/bin/jupyter" lab --ip=127.0.0.1 --no-browser --notebook-dir=notebooks "${as_root[@]}" "$@"
}

cmd_test() {
    cmd_setup
    cd "$ROOT"
    exec "$VENV/bin/python" -m pytest "$@"
}

main() {
    local command="${1:-}"
    [ $# -gt 0 ] && shift
    case "$command" in
        lab) cmd_lab "$@" ;;
        test) cmd_test "$@" ;;
        setup) cmd_setup "$@" ;;
        -h | --help | help) usage ;;
        *) usage; exit 2 ;;
    esac
}

main "$@"
