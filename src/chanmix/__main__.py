"""``python -m chanmix`` runs the command line."""

from .cli.main import cli

if __name__ == "__main__":  # not when a worker process started by --scheduler local imports it
    cli(prog_name="chanmix")
