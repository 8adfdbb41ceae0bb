"""Images: the pure Dockerfile render, the build context, hash locks, bootstrapped bases, provenance."""
