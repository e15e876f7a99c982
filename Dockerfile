# syntax=docker/dockerfile:1
# Build stage: compile wheels with build tools; the final image carries none of them.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY syncd ./syncd
COPY connectors ./connectors
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 syncd
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
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
