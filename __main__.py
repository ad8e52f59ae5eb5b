"""`python -m mailorder`: the same command line as the `mailorder` script."""

from mailorder.agent.cli import main

main()
