"""The sample app's test suite: run with DATABASE_URL naming a migrated database."""
