#!/bin/sh
# Build the documentation into docs/_build/html and run the reference's
# examples as doctests, with warnings as errors and every cross-reference
# checked. Each build that runs code starts a private JACK server of its own.
#
#   sh docs/build.sh [python]     # python: one with pyjack and the docs extra
set -eu
python=${1:-python3}
docs=$(dirname "$0")
"$python" -m sphinx -W --keep-going -n -b html "$docs" "$docs/_build/html"
"$python" -m sphinx -W --keep-going -n -b doctest "$docs" "$docs/_build/doctest"
echo "The pages are in $docs/_build/html (open index.html)."
