"""`python -m clients.cli ...`: the `triserve` command without its console script."""

from clients.cli import app

app(prog_name="triserve")
