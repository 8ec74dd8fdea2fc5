"""What every notifier config shares. The record a notifier delivers is
:class:`sloguard.records.Notification`; the port it implements is :class:`sloguard.ports.Notifier`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class NotifierConfigBase(BaseModel):
    """Fields every notifier config has. Subclasses add ``type: Literal[...]`` and their own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$", max_length=63)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
