"""The daemon configuration file (``sloguard run --config sloguard.yaml``), typed once.

Everything is validated where it enters: pydantic models with ``extra="forbid"``, units in the
names. Errors are located (``FILE:LINE:COLUMN: error: field: message``) and say what would be
valid. Secrets are never inline: notifiers and Prometheus take ``*_file`` paths or ``*_env``
variable names. Relative paths (``slo_paths``, ``state_path``, every ``*_file``) are resolved
against the directory of the config file, so a config and its files move together.

See ``docs/config.md`` for the full reference and an example.
"""

from sloguard.config._load import load_config, parse_config
from sloguard.config._models import (
    DaemonConfig,
    RecordedSeriesConfig,
    StatusPageConfig,
)

__all__ = [
    "DaemonConfig",
    "RecordedSeriesConfig",
    "StatusPageConfig",
    "load_config",
    "parse_config",
]
