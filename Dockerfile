# The base: any image with Python 3.11+ where `python` and `pip` are on PATH and pip may
# install (the official python images; or, where no registry is reachable, one built from
# Debian's packages by deploy/build-local-base.sh):
#   docker build --build-arg BASE_IMAGE=syncd-base:bookworm -t syncd .
# No `# syntax=` line: the builder's own Dockerfile frontend is used, nothing is pulled for it.
ARG BASE_IMAGE=python:3.11-slim

# Build stage: every wheel syncd needs, built once; the final image carries no build tools.
FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY syncd ./syncd
COPY connectors ./connectors
# setup.py maps the default rules and the example config into the package (syncd.defaults).
COPY rules ./rules
COPY config/syncd.example.yaml ./config/
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# A fixed non-root uid; /var/lib/syncd is its own, for a SQLite state file (or, in
# docker-compose.yml, the sandbox's service-account key): a named volume mounted there
# starts out owned by syncd.
RUN useradd --create-home --uid 10001 syncd \
  && install -d -o syncd -g syncd /var/lib/syncd
# The wheels are mounted from the build stage, not copied: they never become a layer.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
  pip install --no-cache-dir /wheels/*
COPY rules /rules
USER syncd
WORKDIR /home/syncd
# Mount your config at /config/syncd.yaml (rules.dir: /rules, or mount your own rules).
# ops.port: /healthz, /readyz and /metrics (see the README's Operations section).
EXPOSE 9102
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9102/healthz', timeout=4)"]
ENTRYPOINT ["syncd"]
CMD ["run", "--config", "/config/syncd.yaml"]
