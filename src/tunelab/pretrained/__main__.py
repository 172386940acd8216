"""python -m tunelab.pretrained RUN_DIR NAME: the old spelling of ``tunelab pretrained pack``."""

import sys

from tunelab.cli import main

print(
    "note: `python -m tunelab.pretrained` is deprecated; use `tunelab pretrained pack RUN NAME`",
    file=sys.stderr,
)
sys.exit(main(["pretrained", "pack", *sys.argv[1:]]))
