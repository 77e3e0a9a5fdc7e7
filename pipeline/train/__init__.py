"""Training the project's own models from the development data in ../shared/data (``pipeline train ...``)."""
