"""Type stubs for the native module ``trimline._trimline``."""

__version__: str
