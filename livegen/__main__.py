"""``python -m livegen ...``: the same command line as the ``livegen`` script (for machines where
the package is on PYTHONPATH but not installed)."""

import sys

from livegen.cli import main

sys.exit(main())
