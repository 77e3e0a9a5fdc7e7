#!/bin/bash
# Writes server.properties from the environment the way the apache/kafka image does (KAFKA_FOO_BAR ->
# foo.bar; `__` stands for `_` and `___` for `-`), formats the log directory once with CLUSTER_ID, and
# runs the broker in the foreground.
set -euo pipefail
config=/opt/kafka/config/server.properties
# Process settings, not broker properties.
skip=" KAFKA_HEAP_OPTS KAFKA_OPTS KAFKA_JVM_PERFORMANCE_OPTS KAFKA_LOG4J_OPTS KAFKA_GC_LOG_OPTS KAFKA_JMX_OPTS "
: >"$config"
while IFS='=' read -r -d '' name value; do
    [[ $name == KAFKA_* && $skip != *" $name "* ]] || continue
    key=${name#KAFKA_}
    key=${key,,}
    key=${key//___/-}
    key=${key//__/$'\x01'}
    key=${key//_/.}
    key=${key//$'\x01'/_}
    printf '%s=%s\n' "$key" "$value" >>"$config"
done < <(env -0)
log_dirs=$(sed -n 's/^log\.dirs=//p' "$config")
: "${log_dirs:=/var/lib/kafka/data}"
grep -q '^log\.dirs=' "$config" || echo "log.dirs=$log_dirs" >>"$config"
classpath='/opt/kafka/libs/*'
# shellcheck disable=SC2086  # the options are a word list, as in kafka-run-class.sh
java_opts=(${KAFKA_HEAP_OPTS:--Xmx1g -Xms1g} ${KAFKA_OPTS:-})
if [[ ! -f "${log_dirs%%,*}/meta.properties" ]]; then
    : "${CLUSTER_ID:?CLUSTER_ID is needed to format an empty log directory}"
    java -Xmx256m -cp "$classpath" -Dlog4j.configuration=file:/opt/kafka/config/tools-log4j.properties \
        kafka.tools.StorageTool format --ignore-formatted --cluster-id "$CLUSTER_ID" --config "$config"
fi
exec java "${java_opts[@]}" -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j.configuration=file:/opt/kafka/config/log4j.properties -cp "$classpath" kafka.Kafka "$config"
