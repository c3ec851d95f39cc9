"""The ratchet: a committed baseline of what a project already has, so a run fails only on
what got worse, file by file and place by place.

places.py names findings by line-shift-robust places; baseline.py compares and updates (pure);
store.py reads and writes the baseline file; setup.py checks the flags and the file before a
run and marks known findings; update.py writes the baseline after `--update-ratchet`;
adopt.py is `gate init --ratchet`. The check itself is gate/checks/ratchet.py.
"""
