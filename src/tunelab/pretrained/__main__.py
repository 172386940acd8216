"""python -m tunelab.pretrained RUN_DIR NAME: pack a run as a shipped checkpoint."""

import sys

from tunelab.pretrained import main

sys.exit(main())
