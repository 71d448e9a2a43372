# syntax=docker/dockerfile:1
# Build the wheels (ours and every dependency's) in one stage, install them in a slim one.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY actors actors
COPY bitnexus bitnexus
COPY migrations migrations
COPY supervisors supervisors
COPY web web
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BITNEXUS_LOG_FORMAT=json \
    PORT=4000
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin bitnexus
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels /wheels/bitnexus-*.whl \
    && rm -rf /wheels
USER 10001
# var/ (the SQLite default and a generated signing key) lives in the user's home.
WORKDIR /home/bitnexus
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '4000'), timeout=4)"]
CMD ["bitnexus", "serve", "--host", "0.0.0.0"]
