"""Accord: an open-source platform for cyber diplomacy."""

__version__ = "0.1.0"
