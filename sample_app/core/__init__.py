"""Settings and security primitives: pure, no I/O."""
