# A Java runtime on the locally made Debian base: what the Kafka and Elasticsearch images start from.
ARG BASE_IMAGE=localhost/news-pipeline-debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless curl \
 && rm -rf /var/lib/apt/lists/*
