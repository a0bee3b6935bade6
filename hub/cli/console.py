"""`cxhub console hash-password`: a password hash for a console user in the config."""

from __future__ import annotations

import click


@click.group()
def console() -> None:
    """The web console at /console (see the README's "The console")."""


@console.command("hash-password")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The password (prompted for, unseen, when not given; prefer the prompt: shells keep history).")
def hash_password(password: str) -> None:
    """Print a scrypt hash of a password, for `console.users.NAME.password_hash`."""
    from werkzeug.security import generate_password_hash

    if len(password) < 12:
        raise click.ClickException("use a password of at least 12 characters")
    click.echo(generate_password_hash(password))
