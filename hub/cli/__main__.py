"""`python -m hub.cli` is `cxhub`."""

from hub.cli import main

main()
