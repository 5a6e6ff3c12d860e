# Baton in a container: `baton serve` as a non-root user, healthy when /healthz answers.
# Configure it with the variables of README.md's Configuration table (an env file, compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY handover ./handover
COPY migrations ./migrations
COPY comms_templates ./comms_templates
# The project itself, from this folder: its dependencies' versions are bounded in pyproject.toml.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[postgres]" \
    && useradd --create-home --uid 10001 baton

USER 10001
WORKDIR /home/baton
# Listen on every interface inside the container; the port is published by the runtime.
ENV BATON_HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=sqlite:////home/baton/baton.db
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/healthz', timeout=4)"]
ENTRYPOINT ["baton"]
CMD ["serve"]
