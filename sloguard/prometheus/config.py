"""How to reach Prometheus: typed once, where it enters (the daemon config or CLI flags)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sloguard.model import check_tenant

TENANT_HEADER = "X-Scope-OrgID"


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
    tenant: str | None = Field(
        default=None,
        description="Mimir/Cortex/Loki-style tenant, sent as the X-Scope-OrgID header "
        "(several as 'a|b' for a cross-tenant query)",
    )
    partial_response: bool | None = Field(
        default=None,
        description="Thanos Query: partial_response= on every query (false: a store that "
        "does not answer fails the query instead of leaving its series out)",
    )
    dedup: bool | None = Field(
        default=None, description="Thanos Query: dedup= on every query (replica deduplication)"
    )

    @model_validator(mode="after")
    def _one_auth(self) -> PrometheusConfig:
        methods = [self.bearer_token_file, self.bearer_token_env, self.basic_auth]
        if sum(m is not None for m in methods) > 1:
            raise ValueError("use one of bearer_token_file, bearer_token_env or basic_auth")
        return self

    @field_validator("tenant")
    @classmethod
    def _tenant_id(cls, value: str | None) -> str | None:
        return None if value is None else check_tenant(value)

    @model_validator(mode="after")
    def _one_tenant(self) -> PrometheusConfig:
        if self.tenant is not None and any(
            h.lower() == TENANT_HEADER.lower() for h in self.headers
        ):
            raise ValueError(f"give the tenant once: tenant or headers.{TENANT_HEADER}, not both")
        return self

    def query_params(self) -> dict[str, str]:
        """The Thanos parameters sent with every query (none unless configured)."""
        params = {"partial_response": self.partial_response, "dedup": self.dedup}
        return {k: "true" if v else "false" for k, v in params.items() if v is not None}

    def tenant_headers(self) -> dict[str, str]:
        """``X-Scope-OrgID`` when a tenant is configured (Mimir, Cortex, Thanos Receive)."""
        return {} if self.tenant is None else {TENANT_HEADER: self.tenant}
