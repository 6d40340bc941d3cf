"""The test module memcheck runs through pytest (host x check items)."""
