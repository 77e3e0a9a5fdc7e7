#!/bin/bash
# The apache/kafka image's tool of the same name (the compose healthcheck calls it by this path).
# shellcheck disable=SC2086
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} -cp '/opt/kafka/libs/*' \
    -Dlog4j.configuration=file:/opt/kafka/config/tools-log4j.properties kafka.admin.BrokerApiVersionsCommand "$@"
