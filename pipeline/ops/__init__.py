"""Operating the pipeline: effective configuration (``pipeline config``), a status view across stages
(``pipeline status``) and the index lifecycle (``pipeline reindex``)."""
