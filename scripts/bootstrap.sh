#!/bin/sh
# Set up everything pyjack needs on Debian or Ubuntu, then run the demo or the tests.
#
#   sh scripts/bootstrap.sh demo          # install what is missing, play a tone through a loopback
#   sh scripts/bootstrap.sh test          # install what is missing, run the whole test suite
#   sh scripts/bootstrap.sh docs          # install what is missing, build the documentation
#   sh scripts/bootstrap.sh test-servers  # also install PipeWire's JACK (bookworm-backports)
#                                         # and run the suite on PipeWire and on netjack2
#
# Installs the missing apt packages (as root, or with sudo), makes a virtual
# environment in .venv and installs pyjack into it with its test extras (docs:
# its docs extras). Extra arguments after "test" or "test-servers" go to
# pytest. The docs land in docs/_build/html; the build also runs the
# reference's examples as doctests.
set -eu

action=${1:-}
case "$action" in
    demo|test|docs|test-servers) shift ;;
    *) echo "usage: sh scripts/bootstrap.sh demo|test|docs|test-servers [pytest arguments]" >&2; exit 2 ;;
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

# test-servers: PipeWire 1.4 with its libjack, from Debian 12's backports
# (Debian 12's own 0.3.65 lacks transport_locate), and iproute2 for the
# netjack2 pair's private network namespace.
if [ "$action" = test-servers ]; then
    if ! dpkg-query -W -f='${Version}' pipewire-jack 2>/dev/null | grep -q '^1\.'; then
        sources=/etc/apt/sources.list.d/debian.sources
        if [ -f "$sources" ] && ! grep -q 'bookworm-backports' "$sources"; then
            $sudo sed -i 's/^Suites: bookworm bookworm-updates$/Suites: bookworm bookworm-updates bookworm-backports/' "$sources"
        fi
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            -t bookworm-backports pipewire pipewire-bin pipewire-jack
    fi
    if ! command -v ip >/dev/null 2>&1; then
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends iproute2
    fi
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
    test-servers)
        status=0
        for kind in pipewire netjack2; do
            echo "== the suite on $kind"
            if ! PYJACK_TEST_SERVER=$kind .venv/bin/python -m pytest "$@"; then
                # A netjack2 pair on a shared virtual machine sometimes has a
                # burst of xruns that spoils several tests at once: the failed
                # tests run once more, and fail CI if they fail again.
                echo "== the failed tests on $kind once more"
                PYJACK_TEST_SERVER=$kind .venv/bin/python -m pytest --last-failed "$@" || status=1
            fi
        done
        exit $status ;;
esac
