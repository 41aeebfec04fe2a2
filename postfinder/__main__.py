"""Allow ``python -m postfinder``."""

from postfinder.cli import main

main()
