"""The sample auth service that gate runs against out of the box."""
