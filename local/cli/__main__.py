"""``python -m local.cli``: the same as the ``stripe-aep`` console script."""

from local.cli import main

main()
