"""The README's partner example, run exactly as written, with curl, against the app served on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

import ledger

README = Path(__file__).resolve().parents[2] / "README.md"


def example_script() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- partner-example -->\n```sh\n(.*?)```\n<!-- /partner-example -->", text, re.S)
    assert match, "the README lost its partner example"
    return match.group(1)


@pytest.fixture
def served(api_app):
    server = make_server("127.0.0.1", 0, api_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README example uses curl")
def test_the_readme_partner_example_runs_as_written_and_records_once(served, world, db):
    from timebank import credentials

    key = db.run(
        credentials.create_partner_key,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        name="school app",
        scopes=["listings:read", "exchanges:write", "ledger:read"],
    ).secret
    environment = {
        **os.environ,
        "TIMEBANK": served,
        "KEY": key,
        "COMMUNITY": str(world.community_id),
        "HELPER": str(world.bert.id),
        "HELPED": str(world.ans.id),
    }
    for _ in range(2):  # the second run is a retry: the idempotency key records the exchange once
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", example_script()],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        # curl prints each answer on one line; the last is the helper's balance after the 90 minutes.
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        assert (figures["membership_id"], figures["balance_minutes"]) == (str(world.bert.id), 120 + 90)
    balance = db.read(lambda *, session: ledger.get_account(session, world.bert.account_id).balance)
    assert balance == 120 + 90
