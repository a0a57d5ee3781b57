"""``python -m notrain.cli``."""

from notrain.cli import main

main()
