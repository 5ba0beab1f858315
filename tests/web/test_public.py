"""Pages for everyone: joining a time bank, the page saying where a membership stands, and a forgotten password
(the same answer for every address, a link that works once and for an hour, throttled like logging in)."""

from __future__ import annotations

import re
import time
import uuid
from types import SimpleNamespace

import itsdangerous.timed
import pytest
import sqlalchemy as sa

from api.auth import SESSION_USER_KEY
from tests.web.conftest import csrf_token, log_in, session_cookie, submit, text
from tests.world import PASSWORD
from timebank import communities, members
from timebank.models import Membership, OutboxMessage, User

EN = {"headers": {"Accept-Language": "en"}}
NEW_PASSWORD = "a long new passphrase for the bank"
CSRF_VALUE = re.compile(r'(name="csrf_token" (?:type="hidden" )?value=")[^"]+"')
LINK = re.compile(r"https?://\S+/password/reset/\S+")


class FakeClock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(world):
    """The test world with everyone reading English: a signed-in person's pages come in their own language, and
    the assertions quote the English texts."""
    ids = [
        person.user.id for person in (world.admin, world.coordinator, world.officer, world.ans, world.bert, world.cor)
    ]

    def in_english(*, session):
        session.execute(sa.update(User).where(User.id.in_(ids)).values(preferred_language="en"))
        session.commit()

    world.db.run(in_english)
    return world


def new_email() -> str:
    return f"new-{uuid.uuid4().hex[:10]}@example.org"


def newcomer(**changes) -> dict:
    return {
        "display_name": "Fatima El Amrani",
        "email": new_email(),
        "password": PASSWORD,
        "password_again": PASSWORD,
        "neighbourhood": "Transvaal",
        "note": "Koken en Arabisch vertalen",
        "agree_rules": "y",
        **changes,
    }


def apply_path(world) -> str:
    return f"/c/{world.community.slug}/apply"


def status_path(world) -> str:
    return f"/c/{world.community.slug}/membership"


def signed_in_user(client) -> int | None:
    with client.session_transaction() as session:
        return session.get(SESSION_USER_KEY)


def count(db, *conditions, what=User.id) -> int:
    query = sa.select(sa.func.count(what)).where(*conditions)
    return db.read(lambda *, session: session.scalar(query))


def reset_mails(db, user_id: int) -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).where(OutboxMessage.user_id == user_id, OutboxMessage.kind == "password_reset")
    return db.read(lambda *, session: list(session.scalars(query.order_by(OutboxMessage.id))))


def reset_link_path(db, user_id: int) -> str:
    """The path of the link in the user's latest password mail."""
    link = LINK.search(reset_mails(db, user_id)[-1].body).group(0)
    return "/password/reset/" + link.split("/password/reset/", 1)[1]


def ask_for_a_link(client, email: str, **options):
    return submit(client, "/password/forgotten", data={"email": email}, **options)


def without_tokens(page: str) -> str:
    return CSRF_VALUE.sub(r'\1TOKEN"', page)


def member_home(world) -> str:
    return f"/c/{world.community.slug}/"


# --- what a time bank is, and which to join -----------------------------------------------------------------------


def test_the_join_page_explains_and_lists_every_time_bank_by_name_with_a_link_to_apply(client, world, other_world):
    response = client.get("/join", **EN)
    page = text(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert page.count("<h1>") == 1 and "What is a time bank?" in page and "How joining works" in page
    assert 'name="search"' in page
    for community in (world.community, other_world.community):
        found = text(client.get("/join", query_string={"search": community.slug}, **EN))
        assert f'<a href="/c/{community.slug}/apply">{community.name}</a>' in found
    nothing = text(client.get("/join", query_string={"search": "no such bank at all"}, **EN))
    assert "No time bank has a name with these words" in nothing


def test_the_join_page_shows_a_member_where_they_stand_instead_of_a_link_to_apply(client, world, other_world):
    log_in(client, world.ans.user.email)
    page = text(client.get("/join", query_string={"search": world.community.slug}, **EN))
    assert f'href="/c/{world.community.slug}/apply"' not in page and world.community.name in page
    page = text(client.get("/join", query_string={"search": other_world.community.slug}, **EN))
    assert f'href="/c/{other_world.community.slug}/apply"' in page


def test_the_home_page_leads_a_visitor_to_the_join_page(client):
    assert 'href="/join"' in text(client.get("/"))


# --- applying as a newcomer -------------------------------------------------------------------------------------


def test_the_application_form_asks_for_everything_with_a_label_and_the_rules(client, world):
    response = client.get(apply_path(world), **EN)
    page = text(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    for name in ("display_name", "email", "password", "password_again", "neighbourhood", "note", "agree_rules"):
        assert f'<label for="{name}">' in page and f'name="{name}"' in page
    assert "The rules" in page and "-10 h" in page and "40 h" in page
    assert 'autocomplete="new-password"' in page


def test_a_newcomer_applies_is_signed_in_and_sees_the_application_waiting(client, world):
    data = newcomer()
    response = submit(client, apply_path(world), data=data, **EN)
    assert response.status_code == 302 and response.headers["Location"] == status_path(world)

    user = world.db.read(lambda *, session: session.scalar(sa.select(User).where(User.email == data["email"])))
    assert user.preferred_language == "en", "the language the page was in"
    membership = world.db.read(
        lambda *, session: session.scalar(sa.select(Membership).where(Membership.user_id == user.id))
    )
    assert (membership.status, membership.display_name, membership.neighbourhood) == (
        "applicant",
        "Fatima El Amrani",
        "Transvaal",
    )
    assert membership.application_note == "Koken en Arabisch vertalen"
    assert signed_in_user(client) == user.id

    waiting = client.get(status_path(world), **EN)
    page = text(waiting)
    assert "Your application was sent." in page
    assert "Your application is waiting. A coordinator will look at it." in page
    assert "welcome credit of 2 h" in page
    assert waiting.headers["Cache-Control"] == "no-store"


def test_a_newcomer_gets_a_new_session_not_the_one_from_before(client, web_app, world):
    client.get(apply_path(world))
    before = session_cookie(client, web_app)
    page = text(client.get(apply_path(world)))
    client.post(apply_path(world), data={**newcomer(), "csrf_token": csrf_token(page)})
    stale = client.post("/logout", data={"csrf_token": csrf_token(page)})
    assert stale.status_code == 400, "the CSRF token from before is renewed"
    visitor = web_app.test_client()
    visitor.set_cookie(web_app.config["SESSION_COOKIE_NAME"], before)
    assert signed_in_user(visitor) is None


def test_where_no_approval_is_needed_the_newcomer_goes_straight_to_the_members_home(client, world):
    world.db.run(
        communities.update_settings,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        approval_required=False,
    )
    data = newcomer()
    response = submit(client, apply_path(world), data=data, **EN)
    assert response.status_code == 302 and response.headers["Location"] == member_home(world)
    assert (
        count(world.db, User.email == data["email"], Membership.user_id == User.id, Membership.status == "active") == 1
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"display_name": ""}, "display_name", "Fill in your name."),
        ({"display_name": "x" * 81}, "display_name", "A name is at most 80 characters."),
        ({"email": ""}, "email", "Fill in your email address."),
        ({"email": "not an email"}, "email", "This is not an email address."),
        ({"password": "short", "password_again": "short"}, "password", "The password needs at least 10 characters."),
        ({"password": "password123", "password_again": "password123"}, "password", "This password is too common"),
        ({"password_again": "something else entirely"}, "password_again", "The two passwords are not the same."),
        ({"password_again": ""}, "password_again", "Type the password a second time."),
        ({"note": "x" * 1001}, "note", "Write at most 1000 characters here."),
        ({"agree_rules": ""}, "agree_rules", "Tick the box to agree to the rules."),
    ],
)
def test_a_refused_application_keeps_what_was_typed_says_why_next_to_the_field_and_changes_nothing(
    client, world, changes, field, message
):
    data = newcomer(**changes)
    applicants = count(world.db, Membership.status == "applicant", what=Membership.id)
    response = submit(client, apply_path(world), data=data, **EN)
    page = text(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    assert error and message in error.group(1)
    assert f'aria-describedby="{field}-error"' in page or f'aria-describedby="{field}-hint {field}-error"' in page
    for kept in ("display_name", "email", "neighbourhood"):
        if data[kept]:
            assert f'value="{data[kept]}"' in page
    if len(data["note"]) <= 1000:
        assert data["note"] in page
    assert PASSWORD not in page, "a password is never sent back"
    assert count(world.db, Membership.status == "applicant", what=Membership.id) == applicants
    if data["email"]:
        assert count(world.db, User.email == data["email"].lower()) == 0
    assert signed_in_user(client) is None


def test_a_taken_email_is_refused_politely_with_ways_on_and_nothing_changes(client, world):
    data = newcomer(email=world.ans.user.email)
    memberships = count(world.db, what=Membership.id)
    response = submit(client, apply_path(world), data=data, **EN)
    page = text(response)
    assert response.status_code == 200
    assert 'id="email-error">There is already an account with this email address.<' in page
    assert f'value="{world.ans.user.email}"' in page and 'value="Fatima El Amrani"' in page
    assert f'href="/login?next=/c/{world.community.slug}/apply"' in page and 'href="/password/forgotten"' in page
    assert count(world.db, what=Membership.id) == memberships and signed_in_user(client) is None


def test_an_unknown_time_bank_is_not_found(client, world):
    assert client.get("/c/no-such-bank/apply").status_code == 404
    page = text(client.get(apply_path(world)))
    refused = client.post("/c/no-such-bank/apply", data={**newcomer(), "csrf_token": csrf_token(page)})
    assert refused.status_code == 404 and refused.headers["Cache-Control"] == "no-store"


def test_applying_without_the_csrf_token_is_refused_and_creates_nothing(client, world):
    data = newcomer()
    response = client.post(apply_path(world), data=data)
    assert response.status_code == 400
    assert count(world.db, User.email == data["email"]) == 0


# --- applying when signed in --------------------------------------------------------------------------------------


def test_a_signed_in_person_applies_to_another_time_bank_with_just_name_neighbourhood_and_note(
    client, world, other_world
):
    log_in(client, world.bert.user.email)
    path = f"/c/{other_world.community.slug}/apply"
    page = text(client.get(path, **EN))
    assert 'name="email"' not in page and 'name="password"' not in page
    assert 'value="Bert Jansen"' in page, "the name they use elsewhere is filled in"
    response = submit(
        client, path, data={"display_name": "Bert", "neighbourhood": "Dapperbuurt", "note": "", "agree_rules": "y"}
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/c/{other_world.community.slug}/membership"
    membership = world.db.read(
        lambda *, session: session.scalar(
            sa.select(Membership).where(
                Membership.user_id == world.bert.user.id, Membership.community_id == other_world.community_id
            )
        )
    )
    assert (membership.status, membership.display_name) == ("applicant", "Bert")


def test_a_signed_in_person_who_forgets_the_rules_is_refused_and_nothing_changes(client, world, other_world):
    log_in(client, world.bert.user.email)
    path = f"/c/{other_world.community.slug}/apply"
    response = submit(client, path, data={"display_name": "Bert", "neighbourhood": "Dapperbuurt"}, **EN)
    assert 'id="agree_rules-error">Tick the box to agree to the rules.<' in text(response)
    assert 'value="Dapperbuurt"' in text(response)
    assert count(world.db, Membership.user_id == world.bert.user.id, what=Membership.id) == 1


def test_a_member_is_sent_to_their_membership_and_cannot_apply_twice(client, world):
    log_in(client, world.ans.user.email)
    assert client.get(apply_path(world)).headers["Location"] == status_path(world)
    assert client.get(status_path(world)).headers["Location"] == member_home(world)
    # A form opened before (in another tab, say) may still be posted: the use case refuses it.
    form_page = text(client.get("/password/forgotten"))
    response = client.post(
        apply_path(world),
        data={"display_name": "Ans", "agree_rules": "y", "csrf_token": csrf_token(form_page)},
        **EN,
    )
    assert response.status_code == 200
    assert "You already have a membership in this time bank." in text(response)
    assert count(world.db, Membership.user_id == world.ans.user.id, what=Membership.id) == 1


def test_a_declined_applicant_sees_the_reason_and_may_apply_again_with_the_earlier_answers(client, world):
    data = newcomer()
    submit(client, apply_path(world), data=data, **EN)
    user_id = signed_in_user(client)
    membership_id = world.db.read(
        lambda *, session: session.scalar(sa.select(Membership.id).where(Membership.user_id == user_id))
    )
    world.db.run(
        members.decline_member,
        actor=world.coordinator.actor,
        membership_id=membership_id,
        reason="Je woont buiten de wijk.",
    )
    page = text(client.get(status_path(world), **EN))
    assert "was not approved" in page and "Je woont buiten de wijk." in page
    form = text(client.get(apply_path(world), **EN))
    assert 'value="Fatima El Amrani"' in form and 'value="Transvaal"' in form
    response = submit(client, apply_path(world), data={"display_name": "Fatima", "agree_rules": "y"})
    assert response.headers["Location"] == status_path(world)
    assert world.db.read(lambda *, session: session.get(Membership, membership_id)).status == "applicant"


# --- where a membership stands ----------------------------------------------------------------------------------


def test_the_membership_page_needs_a_login(client, world):
    response = client.get(status_path(world))
    assert response.status_code == 302 and response.headers["Location"] == f"/login?next={status_path(world)}"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("suspended", "Your membership is suspended for now."),
        ("left", "You left this time bank."),
    ],
)
def test_a_suspended_member_and_one_who_left_are_told_where_they_stand(client, world, status, expected):
    if status == "suspended":
        world.db.run(
            members.suspend_member, actor=world.coordinator.actor, membership_id=world.cor.id, reason="Even rust."
        )
    else:
        world.db.run(
            members.leave_community,
            actor=world.coordinator.actor,
            membership_id=world.cor.id,
            settle_with_pot=True,
            reason="Verhuisd.",
        )
    log_in(client, world.cor.user.email)
    response = client.get(status_path(world), **EN)
    page = text(response)
    assert response.status_code == 200 and expected in page and "contact a coordinator" in page
    assert "Even rust." not in page, "a suspension's reason is for the coordinators"
    assert response.headers["Cache-Control"] == "no-store"


def test_someone_without_a_membership_is_sent_to_apply_and_an_unknown_bank_is_not_found(client, world, other_world):
    log_in(client, world.ans.user.email)
    other = f"/c/{other_world.community.slug}"
    assert client.get(f"{other}/membership").headers["Location"] == f"{other}/apply"
    assert client.get("/c/no-such-bank/membership").status_code == 404


# --- a forgotten password ---------------------------------------------------------------------------------------


def test_the_forgotten_password_page_asks_for_an_email_and_is_linked_from_nowhere_it_should_not_be(client):
    response = client.get("/password/forgotten", **EN)
    page = text(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert '<label for="email">Email address</label>' in page and "Send me a link" in page


def test_a_known_and_an_unknown_email_get_the_same_answer_and_only_the_known_one_gets_mail(client, world):
    mails_before = count(world.db, OutboxMessage.kind == "password_reset", what=OutboxMessage.id)
    known = ask_for_a_link(client, world.bert.user.email, **EN)
    unknown = ask_for_a_link(client, "nobody-at-all@example.org", **EN)
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"] == "/password/forgotten/sent"
    [mail] = reset_mails(world.db, world.bert.user.id)
    assert LINK.search(mail.body) and "The link works for one hour, and only once." in mail.body
    assert count(world.db, OutboxMessage.kind == "password_reset", what=OutboxMessage.id) == mails_before + 1


def test_the_page_after_asking_says_the_same_for_a_known_and_an_unknown_email(web_app, world):
    answers = []
    for email in (world.bert.user.email, "nobody-at-all@example.org"):
        client = web_app.test_client()
        response = ask_for_a_link(client, email, follow_redirects=True, **EN)
        answers.append((response.status_code, without_tokens(text(response))))
    assert answers[0] == answers[1]
    assert "If this address belongs to an account, we sent a link to it." in answers[0][1]


def test_an_erased_account_gets_no_mail(client, world):
    def erase(*, session):
        session.get(User, world.cor.user.id).erased_at = session.get(User, world.cor.user.id).created_at
        session.commit()

    world.db.run(erase)
    assert ask_for_a_link(client, world.cor.user.email).status_code == 302
    assert reset_mails(world.db, world.cor.user.id) == []


def test_an_empty_email_is_refused_next_to_the_field_and_nothing_is_sent(client, world):
    before = count(world.db, what=OutboxMessage.id)
    response = ask_for_a_link(client, "", **EN)
    assert response.status_code == 200 and 'id="email-error">Fill in your email address.<' in text(response)
    assert count(world.db, what=OutboxMessage.id) == before


def test_asking_without_the_csrf_token_is_refused_and_sends_nothing(client, world):
    response = client.post("/password/forgotten", data={"email": world.bert.user.email})
    assert response.status_code == 400 and reset_mails(world.db, world.bert.user.id) == []


def test_asking_again_and_again_is_throttled_like_logging_in_whether_or_not_the_address_exists(client, web_app, world):
    web_app.extensions["timebank_web"].login_throttle.clock = clock = FakeClock()
    answers = []
    for email in (world.bert.user.email, "nobody-at-all@example.org"):
        for _ in range(5):
            assert ask_for_a_link(client, email).status_code == 302
        refused = ask_for_a_link(client, email, **EN)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "900"
        assert refused.headers["Cache-Control"] == "no-store"
        answers.append(without_tokens(text(refused).replace(email, "EMAIL")))
        assert "Too many attempts for this address." in answers[-1]
    assert answers[0] == answers[1]
    assert len(reset_mails(world.db, world.bert.user.id)) == 5, "no mail once throttled"
    assert log_in(client, world.bert.user.email).status_code == 429, "nor logging in to that address for now"
    clock.now += 900
    assert ask_for_a_link(client, world.bert.user.email).status_code == 302


def test_the_link_sets_a_new_password_once_and_then_is_dead(client, world):
    ask_for_a_link(client, world.ans.user.email)
    path = reset_link_path(world.db, world.ans.user.id)

    page = client.get(path, **EN)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Choose a new password" in text(page) and 'autocomplete="new-password"' in text(page)
    response = submit(client, path, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}, **EN)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "Your password is changed. Log in with your new password." in text(client.get("/login", **EN))

    assert log_in(client, world.ans.user.email, PASSWORD).status_code == 200, "the old password no longer works"
    assert log_in(client, world.ans.user.email, NEW_PASSWORD).status_code == 302
    again = client.get(path, **EN)
    assert again.status_code == 200 and "This link no longer works" in text(again)
    assert 'name="password"' not in text(again)


def test_a_used_link_posted_from_a_page_opened_before_changes_nothing(client, web_app, world):
    ask_for_a_link(client, world.ans.user.email)
    path = reset_link_path(world.db, world.ans.user.id)
    other_tab = web_app.test_client()
    stale_page = text(other_tab.get(path))
    submit(client, path, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    late = other_tab.post(
        path,
        data={
            "password": "yet another passphrase",
            "password_again": "yet another passphrase",
            "csrf_token": csrf_token(stale_page),
        },
        **EN,
    )
    assert "This link no longer works" in text(late)
    assert log_in(web_app.test_client(), world.ans.user.email, NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("password", "again", "field", "message"),
    [
        ("short", "short", "password", "The password needs at least 10 characters."),
        ("qwertyuiop", "qwertyuiop", "password", "This password is too common"),
        (NEW_PASSWORD, "not the same at all", "password_again", "The two passwords are not the same."),
        ("", "", "password", "Choose a password."),
    ],
)
def test_a_refused_new_password_says_why_next_to_the_field_and_the_old_one_still_works(
    client, world, password, again, field, message
):
    ask_for_a_link(client, world.bert.user.email)
    path = reset_link_path(world.db, world.bert.user.id)
    response = submit(client, path, data={"password": password, "password_again": again}, **EN)
    page = text(response)
    assert response.status_code == 200
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    assert error and message in error.group(1)
    assert log_in(client, world.bert.user.email, PASSWORD).status_code == 302
    assert client.get(path).status_code == 200 and "Choose a new password" in text(client.get(path, **EN))


def test_setting_a_new_password_without_the_csrf_token_is_refused(client, world):
    ask_for_a_link(client, world.bert.user.email)
    path = reset_link_path(world.db, world.bert.user.id)
    response = client.post(path, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert response.status_code == 400
    assert log_in(client, world.bert.user.email, PASSWORD).status_code == 302


def test_the_link_works_for_an_hour_and_not_a_second_longer(client, world, monkeypatch):
    asked_at = time.time()
    monkeypatch.setattr(itsdangerous.timed, "time", SimpleNamespace(time=lambda: asked_at))
    ask_for_a_link(client, world.cor.user.email)
    path = reset_link_path(world.db, world.cor.user.id)

    monkeypatch.setattr(itsdangerous.timed, "time", SimpleNamespace(time=lambda: asked_at + 3600))
    assert "Choose a new password" in text(client.get(path, **EN))
    monkeypatch.setattr(itsdangerous.timed, "time", SimpleNamespace(time=lambda: asked_at + 3601))
    assert "This link no longer works" in text(client.get(path, **EN))
    page = text(client.get("/password/forgotten"))
    late = client.post(
        path, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD, "csrf_token": csrf_token(page)}, **EN
    )
    assert "This link no longer works" in text(late)
    assert log_in(client, world.cor.user.email, PASSWORD).status_code == 302


@pytest.mark.parametrize("how", ["altered", "cut", "another user", "foreign key", "nonsense", "too long"])
def test_a_forged_or_damaged_link_is_dead(client, web_app, world, how):
    ask_for_a_link(client, world.cor.user.email)
    path = reset_link_path(world.db, world.cor.user.id)
    token = path.rsplit("/", 1)[1]
    if how == "altered":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif how == "cut":
        token = token[: len(token) // 2]
    elif how == "another user":
        from timebank.web.public import RESET_SALT

        serializer = itsdangerous.URLSafeTimedSerializer("some other secret", salt=RESET_SALT)
        token = serializer.dumps({"user": world.ans.user.id, "password": "0" * 32})
    elif how == "foreign key":
        # Signed with the app's key but for another purpose (another salt): not a password link.
        token = itsdangerous.URLSafeTimedSerializer(web_app.secret_key).dumps({"user": world.ans.user.id})
    elif how == "nonsense":
        token = "not-a-token"
    else:
        token = "x" * 1000
    response = client.get(f"/password/reset/{token}", **EN)
    assert response.status_code == 200 and "This link no longer works" in text(response)
    assert 'href="/password/forgotten"' in text(response)


def test_setting_a_new_password_ends_the_session_on_that_browser_and_clears_the_login_count(client, web_app, world):
    web_app.extensions["timebank_web"].login_throttle.clock = FakeClock()
    for _ in range(4):
        log_in(client, world.bert.user.email, "wrong")
    ask_for_a_link(client, world.bert.user.email)  # the fifth count against the address
    assert log_in(client, world.bert.user.email, PASSWORD).status_code == 429
    log_in(client, world.ans.user.email)
    path = reset_link_path(world.db, world.bert.user.id)
    submit(client, path, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert signed_in_user(client) is None
    assert log_in(client, world.bert.user.email, NEW_PASSWORD).status_code == 302


def test_the_link_points_at_the_public_address_whatever_host_the_request_named(make_app, world):
    web_app = make_app(PUBLIC_URL="https://tijdbank.example.org/")
    client = web_app.test_client()
    ask_for_a_link(client, world.bert.user.email, headers={"Host": "evil.example.com"})
    [mail] = reset_mails(world.db, world.bert.user.id)
    assert "https://tijdbank.example.org/password/reset/" in mail.body and "evil" not in mail.body


@pytest.mark.parametrize(
    "path", ["/join", "/c/{slug}/apply", "/password/forgotten", "/password/forgotten/sent", "/password/reset/x"]
)
def test_the_pages_have_no_inline_script_or_style_and_one_h1(client, world, path):
    page = text(client.get(path.format(slug=world.community.slug)))
    assert "<script" not in page and "<style" not in page and "style=" not in page
    assert page.count("<h1>") == 1
