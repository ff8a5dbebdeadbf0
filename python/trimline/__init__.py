"""trimline: an embeddable scheduling core for rigid capacity delivery.

This package is a thin layer over the Rust core (the native module
``trimline._trimline``): it re-exports the native API with an explicit
``__all__`` and adds nothing that changes behaviour.
"""

from trimline._trimline import __version__

__all__ = ["__version__"]
