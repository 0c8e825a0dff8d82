"""``python -m bot.rasa_server run ...``: ``rasa run`` with its API secrets from the environment.

``rasa run --auth-token X`` shows the token to everyone who can list processes (``ps``). This
entry point takes the same arguments as ``rasa`` but reads ``RASA_TOKEN`` from the environment
and hands Rasa the token and the JWT secret derived from it (:mod:`bot.rasa_auth`) inside the
process, so neither appears in the process's command line.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional, Sequence

from bot.rasa_auth import JWT_METHOD, jwt_secret

SECRET_OPTIONS = ("--auth-token", "-t", "--jwt-secret", "--jwt-private-key", "--jwt-method")


def rasa_arguments(arguments: Sequence[str], token: str) -> List[str]:
    """``rasa``'s argv: ``arguments`` plus the token and the JWT settings."""
    given = [argument for argument in arguments if argument.split("=")[0] in SECRET_OPTIONS]
    if given:
        raise ValueError(f"pass secrets through RASA_TOKEN, not {', '.join(given)}")
    # "=" forms: a generated token may start with "-" (argparse would take it for an option).
    return ["rasa", *arguments, f"--auth-token={token}", f"--jwt-secret={jwt_secret(token)}",
            f"--jwt-method={JWT_METHOD}"]


def main(arguments: Optional[Sequence[str]] = None) -> None:
    token = os.environ.get("RASA_TOKEN", "").strip()
    if not token:
        print("RASA_TOKEN is not set: refusing to start Rasa's HTTP API without a token",
              file=sys.stderr)
        raise SystemExit(2)
    try:
        sys.argv = rasa_arguments(sys.argv[1:] if arguments is None else arguments, token)
    except ValueError as error:
        print(str(error), file=sys.stderr)
        raise SystemExit(2) from None
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
