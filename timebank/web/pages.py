"""What every page of a community shares: who is asking, in which community, and how a page runs a use case.

A community's pages live under ``/c/<slug>/``. ``member_page`` lets in the signed-in person if they are an active
member of that community (an administrator of the installation too); ``coordinator_page`` only its coordinators
(and administrators); ``officer_page`` only its safeguarding officers (and administrators). Anybody else gets
the 404 page (a member of another community learns nothing about this one), a visitor the login page, an
applicant (or a suspended member, or one who left) the page saying where their membership stands.

A view then calls ``run`` (a write, in one transaction) or ``read`` with the use case and its arguments; the actor
and community are filled in. A refusal from a use case is shown by ``refuse`` next to the field it names (or above
the form), in the page's language; a write that worked ends with ``done``: a message for the next page and a
redirect (post/redirect/get), so that reloading does not repeat it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, flash, g, redirect, request, url_for
from werkzeug.wrappers import Response
from wtforms import FormField

from ledger import errors as ledger_errors
from timebank import errors as domain_errors
from timebank.access import Actor
from timebank.models import Community, Membership, MembershipStatus, Role
from timebank.web.people import signed_in_person
from timebank.web.refusals import refusal_text

Refusal = domain_errors.DomainError | ledger_errors.LedgerError
# A person with one of these memberships sees a page saying where it stands (waiting, suspended, left).
NOT_YET_OR_NO_LONGER = frozenset(
    {MembershipStatus.APPLICANT.value, MembershipStatus.SUSPENDED.value, MembershipStatus.LEFT.value}
)
REFUSALS = (domain_errors.DomainError, ledger_errors.LedgerError)


@dataclass(frozen=True)
class Here:
    """The community a page is about and the person looking at it (``g.here``)."""

    community: Community
    membership: Membership | None  # None for an administrator of the installation who is not a member
    actor: Actor

    @property
    def is_coordinator(self) -> bool:
        return self.actor.is_administrator or (
            self.membership is not None and self.membership.role == Role.COORDINATOR.value
        )

    @property
    def is_safeguarding_officer(self) -> bool:
        return self.membership is not None and self.membership.is_safeguarding_officer


def here() -> Here:
    return g.here


def login_required(view: Callable) -> Callable:
    """A page for signed-in people: a visitor is sent to the login page, and back here after logging in."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if signed_in_person() is None:
            return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def _community_page(allowed: Callable[[Here], bool]) -> Callable[[Callable], Callable]:
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        @login_required
        def wrapped(slug: str, *args, **kwargs):
            person = signed_in_person()
            belonging = person.in_community(slug)
            administrator = person.user.is_administrator
            status = None if belonging is None else belonging.membership.status
            if status in NOT_YET_OR_NO_LONGER and not administrator:
                return redirect(url_for("public.membership_status", slug=slug))
            active = status == MembershipStatus.ACTIVE.value
            community = belonging.community if belonging is not None else None
            if community is None and administrator:
                community = _community_by_slug(slug)
            if community is None or not (active or administrator):
                abort(404)
            g.here = Here(
                community=community,
                membership=belonging.membership if active else None,
                actor=Actor.for_user(person.user),
            )
            if not allowed(g.here):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


member_page = _community_page(lambda h: True)
coordinator_page = _community_page(lambda h: h.is_coordinator)
officer_page = _community_page(lambda h: h.is_safeguarding_officer or h.actor.is_administrator)


def _community_by_slug(slug: str) -> Community | None:
    from timebank import communities

    try:
        return read(communities.community_by_slug, slug=slug, with_actor=False)
    except domain_errors.NotFound:
        return None


def database():
    return current_app.extensions["timebank"].database


def run(use_case: Callable, /, *, with_actor: bool = True, **arguments: Any) -> Any:
    """Run a writing use case in one transaction, as the person on this page."""
    if with_actor:
        arguments.setdefault("actor", here().actor)
    return database().run(use_case, **arguments)


def read(use_case: Callable, /, *, with_actor: bool = True, **arguments: Any) -> Any:
    """Run a reading use case, as the person on this page."""
    if with_actor:
        arguments.setdefault("actor", here().actor)
    return database().read(use_case, **arguments)


def refuse(form, error: Refusal, *, fields: dict[str, str] | None = None) -> None:
    """Show a use case's refusal on ``form``: next to the field it names, else above the form.

    ``fields`` maps a use case's field name to the form's where they differ (``{"minutes": "hours"}``).
    """
    text = refusal_text(error)
    name = error.details.get("field")
    name = (fields or {}).get(name, name) if isinstance(name, str) else None
    field = getattr(form, name, None) if name else None
    if isinstance(field, FormField):  # hours and minutes: the message goes with the first of them
        field = next(iter(field.form))
    if field is not None and hasattr(field, "errors") and name != "csrf_token":
        field.errors = [*field.errors, text]
    else:
        form.form_errors.append(text)


def done(message: str, endpoint: str, **values: Any) -> Response:
    """After a write that worked: say so on the next page, and go there."""
    flash(message, "done")
    return redirect(url_for(endpoint, **values))


def community_url(endpoint: str, **values: Any) -> str:
    """``url_for`` within the community of this page."""
    return url_for(endpoint, slug=here().community.slug, **values)
