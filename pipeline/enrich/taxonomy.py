"""The PLOVER event taxonomy, read from ``pipeline/data/plover.yaml`` (stub: replaced by the real loader)."""

TAXONOMY_VERSION = "plover-0.0-stub"
