"""`python -m gate` runs the gate command line."""

from gate.entry import main

main()
