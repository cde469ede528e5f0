from . import algorithms, connectors, generators, losses  # noqa: F401  (registers)
