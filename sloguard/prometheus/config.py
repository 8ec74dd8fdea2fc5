"""How to reach Prometheus: typed once, where it enters (the daemon config or CLI flags)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class BasicAuth(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str = Field(min_length=1)
    password_file: str | None = None
    password_env: str | None = None


class PrometheusConfig(BaseModel):
    """Connection settings. Credentials only by file or environment variable name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://", description="Base URL, e.g. http://prometheus:9090")
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    retries: int = Field(default=2, ge=0, le=10, description="extra attempts on transient errors")
    max_concurrency: int = Field(default=8, ge=1, le=256)
    bearer_token_file: str | None = None
    bearer_token_env: str | None = None
    basic_auth: BasicAuth | None = None
    ca_file: str | None = Field(default=None, description="PEM bundle to verify the server with")
    insecure_skip_verify: bool = False
    headers: dict[str, str] = Field(default_factory=dict, description="extra non-secret headers")

    @model_validator(mode="after")
    def _one_auth(self) -> PrometheusConfig:
        methods = [self.bearer_token_file, self.bearer_token_env, self.basic_auth]
        if sum(m is not None for m in methods) > 1:
            raise ValueError("use one of bearer_token_file, bearer_token_env or basic_auth")
        return self
