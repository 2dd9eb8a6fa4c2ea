"""``python -m irods_provider.testing``."""

from __future__ import annotations

import sys

from irods_provider.testing._cli import main

sys.exit(main())
