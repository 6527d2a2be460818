"""The `moviegenre` command: a thin layer over the Python API, one module per command group."""
