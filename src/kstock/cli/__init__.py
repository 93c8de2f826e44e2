"""The ``kstock`` command: thin typer commands that call services."""
