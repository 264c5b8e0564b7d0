"""Bytes in, models out: one module per source. No function here opens a file."""
