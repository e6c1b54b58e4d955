"""chatd: a self-hostable team chat server in one process."""

__version__ = "0.1.0"
