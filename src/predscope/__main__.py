"""``python -m predscope``."""

from predscope.cli.app import main

main()
