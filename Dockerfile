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
ENTRYPOINT ["syncd"]
CMD ["run", "--config", "/config/syncd.yaml"]
