"""sloguard: SLO burn-rate alerting and incident auto-declaration."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sloguard")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
