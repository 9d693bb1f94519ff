"""``python -m predscope.cli``."""

from predscope.cli.app import main

main()
