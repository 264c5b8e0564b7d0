"""Tenths: find unbilled time, flag what clients reject, export LEDES."""

__version__ = "0.1.0"
