# syntax=docker/dockerfile:1
# iamcap: two stages. `build` installs the locked dependencies and the app into a venv; the final
# stage is the same slim Python with only that venv copied in, run as an unprivileged user.
#
#   docker build -t iamcap .
#   docker run --rm -p 8080:8080 iamcap          (see docs/operations.md, docker-compose.yml)

ARG PYTHON_IMAGE=python:3.11-slim

# --- build -------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Dependencies first, pinned by the lock file: this layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN pip install --require-virtualenv -r requirements.lock

# Then the app itself, as a regular (not editable) install into the same venv, bytecode compiled.
COPY pyproject.toml README.m[d] ./
COPY service ./service
RUN pip install --require-virtualenv --no-deps . \
    && python -m compileall -q /opt/venv/lib \
    && iamcap --help > /dev/null

# --- runtime -----------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="iamcap" \
      org.opencontainers.image.description="AWS IAM access-capability index and Deny IAM Admin policies" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --system --gid 10001 iamcap \
    && useradd --system --uid 10001 --gid iamcap --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin iamcap

# The venv holds the app and every dependency; it is owned by root and read-only to the app's user.
COPY --from=build /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    IAMCAP_HOST=0.0.0.0 \
    IAMCAP_PORT=8080

USER 10001:10001
EXPOSE 8080

# Liveness of the process; readiness (/readyz) is for the load balancer or the orchestrator.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('IAMCAP_PORT', '8080'), timeout=2)"]

# SIGTERM starts the drain (docs/operations.md); exec form, so the server is PID 1 and receives it.
STOPSIGNAL SIGTERM
ENTRYPOINT ["iamcap"]
CMD ["serve"]
