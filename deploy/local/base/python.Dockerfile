# Python 3.11 on the locally made Debian base: stands in for python:3.11-slim (deploy/Dockerfile's
# PYTHON_IMAGE) where no registry is reachable. `python` is on PATH as in the official image.
ARG BASE_IMAGE=localhost/news-pipeline-debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv python-is-python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
