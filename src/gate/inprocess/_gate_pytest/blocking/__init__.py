"""The blocking-call detector: charges calls and stalls that block an asyncio loop to tests.

plugin.py is the pytest side (phases, charging, findings); loop.py times every loop callback;
calls.py intercepts known blocking functions; foreign.py notices loops gate cannot time;
sched.py reads run-queue waits; frames.py turns stacks into project places; patch.py undoes
every patch; allowlist.py holds the calls allowed by default.
"""
