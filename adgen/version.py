"""The package version (one place; generated modules name it in their header)."""

__version__ = "0.1.0"
