"""`python -m clients.cluster up|deploy|status|add-worker|stop-worker|down` (see cli.py)."""

import sys

from clients.cluster.cli import main

sys.exit(main())
