"""Reading a secret: from a ``*_file`` path or a ``*_env`` variable name, never from the YAML.

One reader for every credential (notifier keys and URLs, Prometheus tokens and passwords), so
each is a :class:`~pydantic.SecretStr` that prints as ``**********`` and every error names the
field and the file or variable, never the value.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import SecretStr

from sloguard.errors import ConfigError, Location, Problem


def read_secret(
    *, file: str | Path | None, env: str | None, what: str, where: Location | None = None
) -> SecretStr:
    """Load a secret from a file (trailing newline stripped) or an environment variable name.

    ``what`` names the field in messages (``pd: routing_key``, ``bearer_token``); ``where`` is
    where the field is configured.
    """
    loc = where or Location("<config>")
    if file and env:
        raise ConfigError(
            Problem(loc, f"{what}: give either a file or an env variable, not both", what)
        )
    if file:
        try:
            value = Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                Problem(loc, f"{what}: cannot read secret file {str(file)!r}: {exc.strerror}", what)
            ) from None
        if not value:
            raise ConfigError(Problem(loc, f"{what}: secret file {str(file)!r} is empty", what))
        return SecretStr(value)
    if env:
        value = os.environ.get(env, "").strip()
        if not value:
            raise ConfigError(
                Problem(loc, f"{what}: environment variable {env} is unset or empty", what)
            )
        return SecretStr(value)
    raise ConfigError(Problem(loc, f"{what}: missing; set the *_file or *_env field", what))
