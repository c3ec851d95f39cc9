"""Throwaway PostgreSQL databases: find binaries, start a private server, or use a given one."""
