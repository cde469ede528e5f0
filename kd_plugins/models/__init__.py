from . import (algorithms, backbones, connectors, embedders,  # noqa: F401  (registers)
               generators, losses)
