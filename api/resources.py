"""Every resource's blueprint, registered in one place (api.init_api)."""

from __future__ import annotations

from api.accounts.routes import blueprint as accounts
from api.communities.routes import blueprint as communities
from api.credentials.routes import blueprint as credentials
from api.exchanges.routes import blueprint as exchanges
from api.listings.routes import blueprint as listings
from api.members.routes import blueprint as members
from api.reports.routes import blueprint as reports

BLUEPRINTS = [communities, members, listings, exchanges, accounts, reports, credentials]
