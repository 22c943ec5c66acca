# cdr: the openEHR CDR REST server. Build: docker build -t cdr .   Run: docker run -p 8000:8000 cdr
# With PostgreSQL: docker compose up (docker-compose.yml). Without CDR_DATABASE_URL the server keeps an
# embedded SQLite database in the volume /var/lib/cdr/cdr-data. The database is migrated on every start.
#
# BASE_IMAGE is any Debian-like image with python3 (3.11+) and its venv module. The default is the public
# image; without a registry, build a local one with scripts/docker-base-image and pass
# --build-arg BASE_IMAGE=local/debian-python:bookworm (docs/docker.md).
ARG BASE_IMAGE=python:3.11-slim

# Build stage: install cdr and its dependencies (all ship wheels) into a venv.
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/cdr
WORKDIR /src
# The dependencies first, from pyproject.toml alone (no packages found yet), so that a change to the
# sources reuses this layer; with them mypy (the [native] extra) and the build tools for the next step.
COPY pyproject.toml README.md setup.py ./
RUN /opt/cdr/bin/pip install setuptools wheel ".[native]"
COPY cdr ./cdr
COPY aql ./aql
# cdr itself, its commit path compiled with mypyc (cdr/native.py, docs/benchmarks.md) where this stage has
# a C compiler and the Python headers (gcc is installed here if apt can; the python images have the headers);
# where it cannot compile, cdr is installed as plain Python, which behaves the same, only slower.
# pip, setuptools and mypy are build tools: the run stage gets the venv without them.
RUN command -v cc >/dev/null || (apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*) || true
RUN CDR_COMPILE=1 /opt/cdr/bin/pip install --no-build-isolation --no-deps --force-reinstall . \
    || /opt/cdr/bin/pip install --no-deps --force-reinstall .
RUN /opt/cdr/bin/pip uninstall --yes mypy setuptools pip

# Run stage: the venv only, no sources or build tools, as an unprivileged user.
FROM ${BASE_IMAGE}
ENV PATH=/opt/cdr/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /var/lib/cdr --shell /usr/sbin/nologin cdr \
    && mkdir -p /var/lib/cdr/cdr-data \
    && chown -R cdr:cdr /var/lib/cdr
COPY --from=build /opt/cdr /opt/cdr
USER cdr
WORKDIR /var/lib/cdr
VOLUME ["/var/lib/cdr/cdr-data"]
EXPOSE 8000
# cdr serve stops cleanly on SIGTERM (docker stop): sockets and database connections closed, exit 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]
ENTRYPOINT ["cdr"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
