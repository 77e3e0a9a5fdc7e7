"""Local real-services stack: a KRaft Kafka broker and an Elasticsearch node as plain JVM processes.

Other code should only need::

    from pipeline.devstack import ensure_up, down
    info = ensure_up(settings)   # idempotent; info.kafka_bootstrap, info.elasticsearch_url
"""

from pipeline.devstack.process import DevstackError
from pipeline.devstack.stack import ServiceStatus, StackInfo, down, ensure_up, status

__all__ = ["DevstackError", "ServiceStatus", "StackInfo", "down", "ensure_up", "status"]
