"""Media production scheduler for public communication obligations."""

__version__ = "0.1.0"
