"""`python -m bench`: every benchmark in turn (only the campaign one so far)."""

from bench.campaign import main

main()
