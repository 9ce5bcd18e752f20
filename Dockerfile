# Salon: one image for the web process (and, with the queue, the worker).
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/salon
# Templates, static files and migrations are read from the source tree,
# so the package is installed in editable mode from here.
COPY pyproject.toml README.md LICENSE wsgi.py ./
COPY app ./app
COPY ml ./ml
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
RUN pip install --no-cache-dir -e .

ENV SALON_HOST=0.0.0.0 \
    SALON_PORT=5000 \
    SALON_INSTANCE=/data/instance \
    SALON_UPLOADS=/data/uploads
VOLUME ["/data"]
EXPOSE 5000
CMD ["salon", "web"]
