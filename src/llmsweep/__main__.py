"""``python -m llmsweep`` is the ``llmsweep`` command."""

from llmsweep.cli import main

main()
