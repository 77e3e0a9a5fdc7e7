"""Dead letters as a tool: list, show and replay what a stage could not process."""
