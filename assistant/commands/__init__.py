"""One module per `tenths` command, each with `run(ns) -> exit code`. They do the file I/O and call the library."""
