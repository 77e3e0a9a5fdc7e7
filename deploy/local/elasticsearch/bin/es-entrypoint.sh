#!/bin/bash
# Every environment variable whose name has a dot and is lower case becomes `-E name=value`, as in the
# elasticsearch image; then Elasticsearch runs in the foreground as PID 1.
set -euo pipefail
settings=()
while IFS='=' read -r -d '' name value; do
    if [[ $name =~ ^[a-z0-9_]+\.[a-z0-9_.]+$ ]]; then
        settings+=("-E" "$name=$value")
    fi
done < <(env -0)
exec /usr/share/elasticsearch/bin/elasticsearch "${settings[@]}" "$@"
