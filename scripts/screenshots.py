"""Screenshots for the README, made from the demo community in Debian's Chromium.

    .venv/bin/python scripts/screenshots.py            # writes docs/screenshots/*.png

Builds the demo ("Buurtbank Oosterpark", seed 2026) in a throwaway SQLite database, serves the app on a free
port, logs in as a member and as a coordinator of the demo, and photographs three pages at a phone's width
(360 px, 2× pixels): a member's home, one of their exchanges (confirmed, with a thank-you), and the coordinator's
report with its charts.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

import sqlalchemy as sa
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timebank import schema  # noqa: E402
from timebank.app import create_app  # noqa: E402
from timebank.demo import DEMO_LOGINS, SLUG, create_demo  # noqa: E402
from timebank.models import Exchange, Membership, ThankYou, User  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
OUT = ROOT / "docs" / "screenshots"
PHONE = {"width": 360, "height": 780}


def _thanked_exchange_of(app, email: str) -> int:
    """A confirmed exchange in which ``email`` was helped and said thank you: the most telling one to show."""
    with app.extensions["timebank"].engine.connect() as connection:
        return connection.execute(
            sa.select(Exchange.id)
            .join(ThankYou, ThankYou.exchange_id == Exchange.id)
            .join(Membership, Membership.id == Exchange.helped_membership_id)
            .join(User, User.id == Membership.user_id)
            .where(User.email == email, Exchange.status == "confirmed")
            .order_by(Exchange.id.desc())
            .limit(1)
        ).scalar_one()


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/demo.sqlite"
        schema.upgrade(url)
        app = create_app({"ENV": "development", "DATABASE_URL": url, "INSTANCE_PATH": folder})
        create_demo(app.extensions["timebank"].database)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        exchange_id = _thanked_exchange_of(app, DEMO_LOGINS.member_email)
        shots = [
            (DEMO_LOGINS.member_email, f"/c/{SLUG}/", "member-home.png"),
            (DEMO_LOGINS.member_email, f"/c/{SLUG}/exchanges/{exchange_id}", "exchange.png"),
            (DEMO_LOGINS.coordinator_email, f"/c/{SLUG}/coordinate/report", "coordinator-report.png"),
        ]
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for email, path, name in shots:
                context = browser.new_context(base_url=base, viewport=PHONE, device_scale_factor=2, locale="nl")
                page = context.new_page()
                page.goto("/login")
                page.fill("input[name=email]", email)
                page.fill("input[name=password]", DEMO_LOGINS.password)
                page.click("main button[type=submit]")
                page.goto(path)
                page.screenshot(path=str(OUT / name), full_page=True)
                print(f"{OUT / name}: {base}{path} as {email}")
                context.close()
            browser.close()
        server.shutdown()


if __name__ == "__main__":
    main()
