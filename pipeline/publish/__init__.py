"""Publish stage: the enriched-event topic as a subscription."""
