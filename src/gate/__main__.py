"""`python -m gate` runs the gate command line."""

from gate.cli import main

main()
