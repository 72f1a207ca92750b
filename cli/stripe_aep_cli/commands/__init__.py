"""The command groups, one module each: ``register(app)`` adds a module's commands to the Typer app."""
