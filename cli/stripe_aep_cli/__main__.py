"""``python -m stripe_aep_cli``: the same as the ``stripe-aep`` console script."""

from stripe_aep_cli import main

main()
