# syntax=docker/dockerfile:1.7
# One image per deployable part, one build target each: dns, identity, provisioning, worker, console.
#   docker buildx build --target dns --tag REGISTRY/dns:TAG .      (`make images` builds all five)
# Each image holds its part's workspace members and nothing else: `uv sync --package a4c-<part>` installs
# that member's locked dependency closure, and only the closure's folders are copied in
# (tests/k8s/test_images.py checks both against uv.lock and runs `python -m a4c.<part> --help` that way).

# Pin the base by digest for reproducible builds, e.g.
#   make images PYTHON_BASE=python:3.11-slim-bookworm@sha256:<digest>
# with the digest from `docker buildx imagetools inspect python:3.11-slim-bookworm` (k8s/README.md, "Images").
ARG PYTHON_BASE=python:3.11-slim-bookworm
# The uv that wrote uv.lock; installed from PyPI so the build needs no other registry.
ARG UV_VERSION=0.13.9

# ---------------------------------------------------------------------------------------------------------
# Build stages: the lock and every member's pyproject.toml (uv needs the whole workspace declared), then per
# part its third-party dependencies (cached layer), then its members' sources (editable, like development:
# the sources stay where uv.lock says, so sql/migrations travels with the a4c-eventstore member).
FROM ${PYTHON_BASE} AS workspace
ARG UV_VERSION
RUN pip install --no-cache-dir --root-user-action=ignore "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY protos/pyproject.toml protos/
COPY services/common/pyproject.toml services/common/
COPY services/dns/pyproject.toml services/dns/
COPY services/identity/pyproject.toml services/identity/
COPY services/provisioning/pyproject.toml services/provisioning/
COPY worker/pyproject.toml worker/
COPY worker/contract/pyproject.toml worker/contract/
COPY sql/pyproject.toml sql/
COPY sandbox/pyproject.toml sandbox/
COPY sandbox/devstack/pyproject.toml sandbox/devstack/
COPY services/console/pyproject.toml services/console/

FROM workspace AS dns-build
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package a4c-dns
COPY protos protos
COPY services/common services/common
COPY services/dns services/dns
RUN uv sync --frozen --no-dev --package a4c-dns && python -m compileall -q protos services

FROM workspace AS identity-build
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package a4c-identity
COPY protos protos
COPY services/common services/common
COPY services/identity services/identity
RUN uv sync --frozen --no-dev --package a4c-identity && python -m compileall -q protos services

FROM workspace AS provisioning-build
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package a4c-provisioning
COPY protos protos
COPY services/common services/common
COPY services/provisioning services/provisioning
COPY sql sql
# The workflow contract it starts workflows with; the worker itself is not in this image.
COPY worker/contract worker/contract
RUN uv sync --frozen --no-dev --package a4c-provisioning && python -m compileall -q protos services sql worker

FROM workspace AS worker-build
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package a4c-worker
COPY protos protos
COPY services/common services/common
COPY worker worker
COPY sql sql
RUN uv sync --frozen --no-dev --package a4c-worker && python -m compileall -q protos services worker sql

FROM workspace AS console-build
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package a4c-console
COPY protos protos
COPY services/common services/common
COPY services/console services/console
RUN uv sync --frozen --no-dev --package a4c-console && python -m compileall -q protos services

# ---------------------------------------------------------------------------------------------------------
# Runtime: the same base (the venv's interpreter path must exist), no uv, no pip cache, a fixed non-root
# uid/gid that the Kubernetes securityContext names. Files stay root-owned: the app cannot modify itself,
# and the pods run with a read-only root filesystem anyway.
FROM ${PYTHON_BASE} AS runtime
# OCI labels say where an image came from (`make images` passes all three): the release, the commit, the repo.
ARG VERSION=unknown
ARG REVISION=unknown
ARG SOURCE=unknown
RUN groupadd --system --gid 10001 a4c \
    && useradd --system --uid 10001 --gid a4c --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin a4c
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
USER 10001:10001
LABEL org.opencontainers.image.vendor="Analytics4Change" \
      org.opencontainers.image.description="A4C Provisioning" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}"

FROM runtime AS dns
COPY --from=dns-build /app /app
# 50051: the API (TLS when A4C_TLS_* are set); 8081: plaintext health for probes (A4C_HEALTH_PORT).
EXPOSE 50051 8081
LABEL org.opencontainers.image.title="a4c-dns"
ENTRYPOINT ["python", "-m", "a4c.dns"]

FROM runtime AS identity
COPY --from=identity-build /app /app
# 50051: the API (TLS when A4C_TLS_* are set); 8081: plaintext health for probes (A4C_HEALTH_PORT).
EXPOSE 50051 8081
LABEL org.opencontainers.image.title="a4c-identity"
ENTRYPOINT ["python", "-m", "a4c.identity"]

# Also runs the migration Job: `python -m a4c.eventstore migrate` (k8s/base/migrate.yaml).
FROM runtime AS provisioning
COPY --from=provisioning-build /app /app
# 50051: the API (TLS when A4C_TLS_* are set); 8081: plaintext health for probes (A4C_HEALTH_PORT).
EXPOSE 50051 8081
LABEL org.opencontainers.image.title="a4c-provisioning"
ENTRYPOINT ["python", "-m", "a4c.provisioning"]

FROM runtime AS worker
COPY --from=worker-build /app /app
EXPOSE 8081
LABEL org.opencontainers.image.title="a4c-worker"
ENTRYPOINT ["python", "-m", "a4c.worker"]

FROM runtime AS console
COPY --from=console-build /app /app
# 8080: the web console (plain HTTP behind the ingress controller, which terminates TLS).
EXPOSE 8080
LABEL org.opencontainers.image.title="a4c-console"
ENTRYPOINT ["python", "-m", "a4c.console"]
