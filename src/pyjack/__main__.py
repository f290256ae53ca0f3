"""python -m pyjack: the pyjack command."""

import sys

from ._cli import main

sys.exit(main())
