"""Profile direct payments in-process (no HTTP server): ``python -m bench.profile_posting [N] [--sqlite]``.

Builds a small community on a fresh PostgreSQL database (or SQLite file), then posts N payments through the
Flask test client under cProfile and prints where the time goes, and the SQL statements one payment sends."""

from __future__ import annotations

import random
import sys
import tempfile
import traceback
import uuid
from pathlib import Path

import sqlalchemy as sa

from bench.common import postgresql_database, print_profile
from bench.town import town_and_client


def main() -> None:
    count = int(next((argument for argument in sys.argv[1:] if argument.isdigit()), 300))
    with tempfile.TemporaryDirectory() as directory:
        if "--sqlite" in sys.argv:
            url = f"sqlite:///{Path(directory) / 'p.sqlite'}"
            profile(url, directory, count)
        else:
            with postgresql_database("timebank_profile") as url:
                profile(url, directory, count)


def profile(url: str, directory: str, count: int) -> None:
    town, client = town_and_client(url, directory, 50)
    app = client.application
    rng = random.Random(1)
    pairs = town.pairs(rng)
    path = f"/api/v1/communities/{town.community_id}/payments"

    def pay():
        payer, payee = next(pairs)
        response = client.post(
            path,
            json={"payee_membership_id": str(payee.membership_id), "minutes": 5, "description": "b"},
            headers={"Authorization": f"Bearer {payer.token}", "Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 201, response.get_data(as_text=True)

    for _ in range(20):
        pay()
    statements = []
    engine = app.extensions["timebank"].engine

    def listener(*args):
        # The statement and the innermost frame of the project's own code that sent it.
        frames = [frame for frame in traceback.extract_stack() if "/site-packages/" not in frame.filename]
        here = next((f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames[:-1])), "?")
        statements.append(f"{' '.join(args[2].split())[:90]}  <- {here}")

    sa.event.listen(engine, "before_cursor_execute", listener)
    pay()
    sa.event.remove(engine, "before_cursor_execute", listener)
    print(f"--- one payment sends {len(statements)} statements:")
    for statement in statements:
        print("   ", statement)
    print_profile(pay, count, "payments")
    app.extensions["timebank"].engine.dispose()


if __name__ == "__main__":
    main()
