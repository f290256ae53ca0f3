#!/bin/sh
# Set up everything pyjack needs on Debian or Ubuntu, then run the demo or the tests.
#
#   sh scripts/bootstrap.sh demo    # install what is missing, play a tone through a loopback
#   sh scripts/bootstrap.sh test    # install what is missing, run the whole test suite
#   sh scripts/bootstrap.sh docs    # install what is missing, build the documentation
#
# Installs the missing apt packages (as root, or with sudo), makes a virtual
# environment in .venv and installs pyjack into it with its test extras (docs:
# its docs extras). Extra arguments after "test" go to pytest. The docs land in
# docs/_build/html; the build also runs the reference's examples as doctests.
set -eu

action=${1:-}
case "$action" in
    demo|test|docs) shift ;;
    *) echo "usage: sh scripts/bootstrap.sh demo|test|docs [pytest arguments]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
python=${PYTHON:-python3}

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi

# apt packages: JACK (server, tools, headers), a C compiler, pkg-config, and
# Python's venv and headers when this Python lacks them.
packages="jackd2 libjack-jackd2-dev pkg-config gcc"
if ! "$python" -c "import ensurepip, venv" >/dev/null 2>&1; then
    packages="$packages python3-venv"
fi
if ! "$python" -c "import os, sysconfig; raise SystemExit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))" >/dev/null 2>&1; then
    packages="$packages python3-dev"
fi
missing=""
for package in $packages; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
extras=test
if [ "$action" = docs ]; then
    extras=docs
fi
.venv/bin/python -m pip install -q ".[$extras]"

case "$action" in
    demo) exec .venv/bin/python -m pyjack.demo ;;
    test) exec .venv/bin/python -m pytest "$@" ;;
    docs) exec sh docs/build.sh .venv/bin/python ;;
esac
