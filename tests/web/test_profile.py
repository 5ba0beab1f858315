"""A person's own pages: the profile in a community and what others see of it, the account's language, emails and
password, the data download, erasure and leaving a community."""

from __future__ import annotations

import json
import re

import pytest

from tests.timebank.test_reports import at, confirmed_exchange, transfer
from tests.web.conftest import csrf_token, log_in, sign_in, submit, text
from tests.world import PASSWORD
from timebank import exchanges, members, pot
from timebank.models import Membership, User
from timebank.web.throttle import FAILURES_PER_EMAIL

NEW_PASSWORD = "a kettle of purple herons"


def profile_page(world) -> str:
    return f"/c/{world.community.slug}/profile"


def leave_page(world) -> str:
    return f"/c/{world.community.slug}/leave"


def in_english(client, world, person) -> None:
    """Log ``person`` in with English as their language (the tests read the English texts)."""
    world.db.run(members.update_user_settings, actor=person.actor, preferred_language="en")
    sign_in(client, person.user.email)


def membership(world, person) -> Membership:
    return world.db.read(lambda *, session: session.get(Membership, person.id))


def user(world, person) -> User:
    return world.db.read(lambda *, session: session.get(User, person.user.id))


def profile_data(**changes) -> dict:
    return {
        "display_name": "Ans de Vries",
        "neighbourhood": "Oosterpark",
        "likes_to_do": "Fietsen maken",
        "interests": ["klussen"],
        "availability": ["mon-morning", "sat-evening"],
        "languages": "Nederlands, Turks",
        "shown": [],
        **changes,
    }


def checked(page: str, name: str, value: str) -> bool:
    """Whether the checkbox or radio button ``name`` = ``value`` is ticked on ``page``."""
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="{value}"[^>]*>', page)
    assert found, f"no {name}={value} on the page"
    return " checked" in found.group(0) or "<input checked" in found.group(0)


def lang(response) -> str:
    return text(response).split('<html lang="', 1)[1].split('"', 1)[0]


# --- the profile ----------------------------------------------------------------------------------------------------


def test_my_profile_shows_what_i_filled_in_what_others_see_and_is_not_kept_in_a_cache(client, world):
    world.db.run(
        members.update_profile,
        actor=world.ans.actor,
        membership_id=world.ans.id,
        likes_to_do="Fietsen maken",
        languages=["Nederlands", "Turks"],
        visibility={"likes_to_do": True},
    )
    in_english(client, world, world.ans)

    response = client.get(profile_page(world))

    page = text(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert page.count("<h1>") == 1 and "<h1>My profile</h1>" in page
    assert 'value="Ans de Vries"' in page and "Fietsen maken</textarea>" in page and 'value="Nederlands, Turks"' in page
    preview = page.split('id="preview-heading"', 1)[1].split("</section>", 1)[0]
    assert "<strong>Ans</strong>, Oosterpark" in preview and "Fietsen maken" in preview
    assert "de Vries" not in preview and "Turks" not in preview
    assert checked(page, "shown", "likes_to_do") and not checked(page, "shown", "languages")


def test_saving_my_profile_changes_it_and_says_so(client, world):
    in_english(client, world, world.ans)

    response = submit(client, profile_page(world), data=profile_data(shown=["likes_to_do", "availability"]))

    assert response.status_code == 302 and response.headers["Location"].endswith(profile_page(world))
    saved = membership(world, world.ans)
    assert (saved.likes_to_do, saved.interests, saved.languages) == (
        "Fietsen maken",
        ["klussen"],
        ["Nederlands", "Turks"],
    )
    assert saved.availability == ["mon-morning", "sat-evening"]
    assert saved.visibility == {
        "likes_to_do": True,
        "availability": True,
        "languages": False,
        "interests": False,
        "thank_you_notes": False,
    }
    page = text(client.get(profile_page(world)))
    assert "Your profile is saved." in page
    preview = page.split('id="preview-heading"', 1)[1].split("</section>", 1)[0]
    assert "Monday (morning)" in preview and "Saturday (evening)" in preview and "Turks" not in preview


def test_what_i_choose_to_show_is_what_another_member_sees_of_me(client, world):
    in_english(client, world, world.ans)

    submit(client, profile_page(world), data=profile_data(shown=["languages", "interests"]))
    seen_by_bert = world.db.read(members.view_member, actor=world.bert.actor, membership_id=world.ans.id)
    assert seen_by_bert.display_name == "Ans"
    assert seen_by_bert.shown == {"languages": ["Nederlands", "Turks"], "interests": ["klussen"]}

    submit(client, profile_page(world), data=profile_data(shown=["likes_to_do"]))
    seen_by_bert = world.db.read(members.view_member, actor=world.bert.actor, membership_id=world.ans.id)
    assert seen_by_bert.shown == {"likes_to_do": "Fietsen maken"}

    submit(client, profile_page(world), data=profile_data(shown=[]))
    assert world.db.read(members.view_member, actor=world.bert.actor, membership_id=world.ans.id).shown == {}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"display_name": ""}, "display_name", "Fill in your name."),
        ({"display_name": "A" * 81}, "display_name", "A name is at most 80 characters."),
        ({"likes_to_do": "x" * 1001}, "likes_to_do", "At most 1000 characters."),
        ({"availability": ["someday-morning"]}, "availability", "Choose from the list."),
        ({"shown": ["address"]}, "shown", "Choose from the list."),
        # Refused by the use case (a language is at most 40 characters), shown next to the field.
        ({"languages": "Nederlands, " + "x" * 41}, "languages", "Languages"),
    ],
)
def test_a_refused_profile_keeps_what_was_typed_and_changes_nothing(client, world, changes, field, message):
    in_english(client, world, world.ans)
    before = membership(world, world.ans)

    response = submit(client, profile_page(world), data=profile_data(neighbourhood="Kattenburg", **changes))

    page = text(response)
    assert response.status_code == 200
    error = page.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    assert message.lower() in error.lower()
    assert 'value="Kattenburg"' in page and 'value="Nederlands, ' in page and checked(page, "interests", "klussen")
    after = membership(world, world.ans)
    assert (after.neighbourhood, after.likes_to_do, after.visibility) == (
        before.neighbourhood,
        before.likes_to_do,
        before.visibility,
    )


def test_the_thank_you_notes_i_received_are_on_my_profile(client, world):
    exchange = confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=60, confirmed_at=at(3, 5))
    world.db.run(
        exchanges.thank_helper, actor=world.bert.actor, exchange_id=exchange.id, text="Dank je wel, Ans!", now=at(3, 6)
    )
    in_english(client, world, world.ans)

    page = text(client.get(profile_page(world)))

    notes = page.split("<h2>Thank-you notes you received</h2>", 1)[1]
    assert "Dank je wel, Ans!" in notes and "From Bert, 6 Mar 2026" in notes
    assert "Only you see these notes." in notes


def test_another_community_or_a_visitor_gets_no_profile_page(client, world, other_world):
    assert client.get(profile_page(world)).status_code == 302
    sign_in(client, other_world.ans.user.email)
    assert client.get(profile_page(world)).status_code == 404
    assert client.get(profile_page(other_world)).status_code == 200


def test_an_administrator_who_is_no_member_has_no_profile_in_the_community(client, world):
    sign_in(client, world.admin.user.email)
    assert client.get(profile_page(world)).status_code == 404
    assert client.get(leave_page(world)).status_code == 404


# --- the account --------------------------------------------------------------------------------------------------


def test_my_account_shows_my_settings_and_my_time_banks(client, world, other_world):
    other = other_world.db.run(
        members.apply_to_join, actor=world.ans.actor, community_id=other_world.community_id, display_name="Ans"
    )
    in_english(client, world, world.ans)

    response = client.get("/account")

    page = text(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert page.count("<h1>") == 1 and world.ans.user.email in page
    assert checked(page, "preferred_language", "en") and checked(page, "notification_mode", "immediate")
    assert f'href="{profile_page(world)}"' in page and "Waiting for approval" in page and other.status == "applicant"
    assert f'href="{profile_page(other_world)}"' not in page
    assert 'href="/account/data.json"' in page and 'href="/account/erase"' in page


def test_a_visitor_is_asked_to_log_in_for_every_account_page(client):
    for path in ("/account", "/account/data.json", "/account/erase"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_a_new_language_is_used_from_the_next_page_on(client, world):
    sign_in(client, world.ans.user.email)
    assert lang(client.get("/account")) == "nl"

    response = submit(
        client, "/account", data={"form": "settings", "preferred_language": "en", "notification_mode": "weekly"}
    )

    assert response.status_code == 302 and response.headers["Location"] == "/account"
    page = client.get("/account")
    assert lang(page) == "en" and "Your settings are saved." in text(page)
    assert lang(client.get(profile_page(world))) == "en"
    saved = user(world, world.ans)
    assert (saved.preferred_language, saved.notification_mode) == ("en", "weekly")


def test_a_language_or_email_choice_not_on_the_list_is_refused_and_changes_nothing(client, world):
    in_english(client, world, world.ans)

    response = submit(
        client, "/account", data={"form": "settings", "preferred_language": "fr", "notification_mode": "daily"}
    )

    page = text(response)
    assert response.status_code == 200
    assert "Choose from the list." in page.split('id="preferred_language-error">', 1)[1].split("</p>", 1)[0]
    assert "Choose from the list." in page.split('id="notification_mode-error">', 1)[1].split("</p>", 1)[0]
    saved = user(world, world.ans)
    assert (saved.preferred_language, saved.notification_mode) == ("en", "immediate")


def change_password(client, current: str, new: str, again: str | None = None):
    data = {"form": "password", "current_password": current, "new_password": new, "new_password_again": again or new}
    return submit(client, "/account", data=data)


def test_changing_the_password_needs_the_right_current_password(client, world, make_app):
    in_english(client, world, world.ans)

    refused = change_password(client, "not my password", NEW_PASSWORD)

    assert refused.status_code == 200
    assert "The current password is not right." in text(refused).split('id="current_password-error">', 1)[1]
    assert log_in(make_app().test_client(), world.ans.user.email).status_code == 302  # the old one still works

    changed = change_password(client, PASSWORD, NEW_PASSWORD)

    assert changed.status_code == 302 and "Your password is changed." in text(client.get("/account"))
    assert client.get(profile_page(world)).status_code == 200  # still logged in, in a renewed session
    fresh = make_app().test_client()
    assert log_in(fresh, world.ans.user.email).status_code == 200  # the old password no longer works
    assert log_in(fresh, world.ans.user.email, NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("new", "again", "field", "message"),
    [
        (NEW_PASSWORD, "a kettle of purple heron", "new_password_again", "The two new passwords are not the same."),
        ("short", "short", "new_password", "at least 10 characters"),
        ("", "", "new_password", "Fill in a new password."),
    ],
)
def test_a_new_password_that_does_not_do_is_refused(client, world, new, again, field, message):
    in_english(client, world, world.ans)
    hash_before = user(world, world.ans).password_hash

    response = change_password(client, PASSWORD, new, again)

    assert response.status_code == 200
    assert message.lower() in text(response).split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0].lower()
    assert user(world, world.ans).password_hash == hash_before


def test_guessing_the_current_password_is_throttled_like_logging_in(client, world):
    in_english(client, world, world.ans)
    for _ in range(FAILURES_PER_EMAIL):
        change_password(client, "a wrong guess", NEW_PASSWORD)

    hash_before = user(world, world.ans).password_hash

    response = change_password(client, PASSWORD, NEW_PASSWORD)

    assert response.status_code == 200 and "Too many wrong passwords." in text(response)
    assert user(world, world.ans).password_hash == hash_before


# --- my data -------------------------------------------------------------------------------------------------------


def test_my_data_download_holds_my_email_and_memberships_and_nothing_of_anyone_else(client, world):
    confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=60, confirmed_at=at(3, 5))
    sign_in(client, world.ans.user.email)

    response = client.get("/account/data.json")

    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="timebank-my-data-')
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(text(response))
    assert data["user"]["email"] == world.ans.user.email
    assert [m["community_name"] for m in data["memberships"]] == ["Buurtbank Test"]
    assert data["memberships"][0]["display_name"] == "Ans de Vries"
    assert data["exchanges"][0]["other_party_first_name"] == "Bert"
    for someone_else in (world.bert, world.cor, world.coordinator):
        assert someone_else.user.email not in text(response)
    assert "Jansen" not in text(response) and "Bakker" not in text(response)


# --- erasure -------------------------------------------------------------------------------------------------------


def test_the_erasure_page_says_plainly_what_happens_and_shows_my_balance(client, world):
    in_english(client, world, world.ans)

    page = text(client.get("/account/erase"))

    assert page.count("<h1>") == 1 and "Erased member" in page and "cannot be undone" in page
    assert "Buurtbank Test: <span" in page and "2 h" in page  # the welcome credit
    assert 'name="password"' in page and 'autocomplete="current-password"' in page


def test_erasure_with_a_wrong_password_is_refused_and_changes_nothing(client, world):
    in_english(client, world, world.ans)

    response = submit(client, "/account/erase", data={"password": "not my password"})

    assert response.status_code == 200
    assert "The current password is not right." in text(response).split('id="password-error">', 1)[1]
    assert user(world, world.ans).erased_at is None and client.get("/account").status_code == 200


def test_erasure_is_refused_in_plain_words_while_an_exchange_is_disputed(client, world):
    confirmed_exchange(
        world, helper=world.ans, helped=world.bert, minutes=60, confirmed_at=at(3, 5), status="disputed", post=False
    )
    in_english(client, world, world.ans)

    response = submit(client, "/account/erase", data={"password": PASSWORD})

    assert response.status_code == 200 and "A coordinator must settle it first" in text(response)
    assert user(world, world.ans).erased_at is None


def test_erasure_ends_the_session_says_so_and_the_person_can_no_longer_log_in(client, world, make_app):
    in_english(client, world, world.ans)
    email = world.ans.user.email

    response = submit(client, "/account/erase", data={"password": PASSWORD})

    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = text(client.get("/"))
    assert "Your personal data is erased" in home and email not in home
    assert client.get("/account").status_code == 302  # logged out
    assert log_in(make_app().test_client(), email).status_code == 200  # refused: the login page again
    erased = membership(world, world.ans)
    assert (erased.display_name, erased.status) == ("Erased member", "left")


# --- leaving ---------------------------------------------------------------------------------------------------------


def test_leaving_asks_for_confirmation_first(client, world):
    in_english(client, world, world.ans)

    page = text(client.get(leave_page(world)))

    assert "<h1>Leave Buurtbank Test</h1>" in page and "Yes, leave Buurtbank Test" in page
    assert membership(world, world.ans).status == "active"


def test_leaving_with_time_left_is_refused_in_plain_words(client, world):
    in_english(client, world, world.ans)

    response = submit(client, leave_page(world))

    assert response.status_code == 200
    assert "You still have 2 h on your account." in text(response)
    assert membership(world, world.ans).status == "active"


def test_leaving_while_time_waits_for_confirmation_is_refused_in_plain_words(client, world):
    transfer(world, world.bert, world.ans, 30, when=at(3, 5), pending=True)
    in_english(client, world, world.ans)

    response = submit(client, leave_page(world))

    assert response.status_code == 200 and "still waiting for confirmation" in text(response)
    assert membership(world, world.ans).status == "active"


def test_leaving_with_a_zero_balance_ends_the_membership(client, world):
    world.db.run(pot.donate_to_pot, actor=world.ans.actor, community_id=world.community_id, minutes=120)
    in_english(client, world, world.ans)

    response = submit(client, leave_page(world))

    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert "You left Buurtbank Test." in text(client.get("/account"))
    assert membership(world, world.ans).status == "left"
    assert client.get(profile_page(world)).status_code in (302, 404)


# --- safety -------------------------------------------------------------------------------------------------------


def test_every_form_needs_its_csrf_token_and_nothing_changes_without_it(client, world):
    in_english(client, world, world.ans)
    before = (membership(world, world.ans).display_name, user(world, world.ans).notification_mode)
    posts = [
        (profile_page(world), profile_data(display_name="Someone Else")),
        ("/account", {"form": "settings", "preferred_language": "en", "notification_mode": "weekly"}),
        ("/account", {"form": "password", "current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        ("/account/erase", {"password": PASSWORD}),
        (leave_page(world), {}),
    ]
    for path, data in posts:
        assert client.post(path, data=data).status_code == 400
        assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 400
    assert (membership(world, world.ans).display_name, user(world, world.ans).notification_mode) == before
    assert user(world, world.ans).erased_at is None and membership(world, world.ans).status == "active"
    assert csrf_token(text(client.get("/account")))  # the pages themselves carry one
