"""Index stage: enriched records into Elasticsearch, and searching them."""
