# syntax=docker/dockerfile:1
# The operator image: docker build -t watchkeeper:dev \
#   --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
# Dependencies come only from requirements.lock (exact versions, sha256 hashes; `make lock`
# rewrites it from pyproject.toml); the operator's own wheel is built in the first stage.
# The result runs as a non-root user and needs no writable root filesystem.

FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/watchkeeper
COPY requirements.lock ./
RUN /opt/watchkeeper/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: \
      -r requirements.lock
COPY pyproject.toml README.md ./
COPY operator ./operator
# Building the wheel fetches the build backend (setuptools, unhashed) into an isolated
# build environment of this stage only; nothing of it reaches the image.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && /opt/watchkeeper/bin/pip install --no-cache-dir --no-deps /wheels/*.whl \
 && /opt/watchkeeper/bin/python -m compileall -q /opt/watchkeeper

FROM python:3.11-slim
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="watchkeeper" \
      org.opencontainers.image.description="A Kubernetes operator that turns Prometheus metrics into alerts, notifications, escalations and scaling actions." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/watchkeeper/watchkeeper"
COPY --from=build /opt/watchkeeper /opt/watchkeeper
ENV PATH=/opt/watchkeeper/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# 65532: "nonroot" in distroless images; the chart's runAsUser. No home, no shell needed.
USER 65532:65532
ENTRYPOINT ["watchkeeper"]
CMD ["run", "--all-namespaces"]
