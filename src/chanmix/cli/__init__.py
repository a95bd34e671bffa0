"""The chanmix command line: a thin Click shell over the Python API."""
