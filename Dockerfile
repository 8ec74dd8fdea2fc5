# syntax=docker/dockerfile:1
# sloguard's container image: what deploy/helm/sloguard runs.
#
#   docker build -t registry.example.com/sre/sloguard:0.1.0 .
#   docker run --rm -v "$PWD/sloguard.yaml:/etc/sloguard/sloguard.yaml:ro" \
#     registry.example.com/sre/sloguard:0.1.0
#
# The builder turns the project into a wheel plus wheels of its dependencies (all from
# pyproject.toml: there is no separate requirements list); the final stage installs only those
# wheels, offline, and has no compiler or build tool. Only the product is copied: the test
# harness and the demo (harness/), tests/ and bench/ stay in the checkout. No HEALTHCHECK:
# Kubernetes probes /healthz and /readyz.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY sloguard ./sloguard
RUN pip wheel --no-cache-dir --wheel-dir=/wheels .

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="sloguard" \
      org.opencontainers.image.description="SLO burn-rate alerting and incident auto-declaration daemon" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# The wheels are bind-mounted for this one step, so they never become a layer of the image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/sloguard-*.whl \
    && groupadd --system --gid 10001 sloguard \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/sloguard \
        --shell /usr/sbin/nologin sloguard \
    && mkdir -p /etc/sloguard /var/lib/sloguard \
    && chown 10001:10001 /var/lib/sloguard
WORKDIR /var/lib/sloguard
USER 10001:10001
EXPOSE 9464
ENTRYPOINT ["sloguard"]
CMD ["run", "--config", "/etc/sloguard/sloguard.yaml"]
