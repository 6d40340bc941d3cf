"""memcheck: a pytest-style compliance checker for Linux memory management."""

__version__ = "0.1.0"
