"""Passwords at the system level: argon2id with OWASP's minimum parameters, long and non-ASCII passphrases welcome,
the most common passwords refused (through the use cases and through every web form that sets a password), a
weaker old hash upgraded at login without ending the session that login starts, and the same hashing work for an
unknown email as for a known one.

The API sets no password (its callers use tokens; a browser's session comes from the web front's login): a test
below keeps it that way, so that a new way to set a password through the API cannot skip these checks."""

from __future__ import annotations

import re
import threading
import uuid
from importlib import resources

import argon2
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, Type

from tests.web.conftest import csrf_token, log_in, make_web_app, submit, text
from tests.world import PASSWORD, add_user
from timebank import credentials, errors, members, passwords
from timebank.models import LoginFailure, Membership, OutboxMessage, RevokedSession, User

MIB = 1024  # argon2's memory cost is in KiB
MINIMUM_MEMORY_KIB = 19 * MIB
MINIMUM_TIME_COST = 2
# Well known at the top of every published list of leaked passwords, most common first.
TOP_OF_EVERY_LIST = ["123456", "123456789", "qwerty", "password", "111111", "12345678", "abc123", "1234567"]
LONG_PASSPHRASES = {
    "64 characters": "my neighbour fixes bikes and I walk her dog on sundays, 2026 ok!"[:64],
    "the maximum, 1024 characters": ("een lange zin om te onthouden " * 40)[: passwords.MAX_LENGTH],
    "non-ASCII": "Zoë fietst élke ochtend naar de bieb — 図書館へ行く 🚲 время",
    "non-ASCII at the maximum": ("ŝŭpër lång 密码 🚲 " * 80)[: passwords.MAX_LENGTH],
}
WEAK_HASHERS = {
    "one pass over 8 MiB": PasswordHasher(time_cost=1, memory_cost=8 * MIB, parallelism=1),
    "argon2i at today's cost": PasswordHasher(time_cost=2, memory_cost=19 * MIB, parallelism=1, type=Type.I),
}
RESET_LINK = re.compile(r"https?://\S+(/password/reset/\S+)")


def current_parameters() -> argon2.Parameters:
    return argon2.extract_parameters(passwords.HASHER.hash("whatever is hashed today"))


def assert_current_parameters(password_hash: str) -> None:
    found = argon2.extract_parameters(password_hash)
    assert found.type is Type.ID, password_hash
    assert found.memory_cost >= MINIMUM_MEMORY_KIB and found.time_cost >= MINIMUM_TIME_COST, password_hash
    assert found == current_parameters(), password_hash
    assert not passwords.needs_rehash(password_hash)


def stored_hash(db, user_id: int) -> str | None:
    return db.read(lambda *, session: session.scalar(sa.select(User.password_hash).where(User.id == user_id)))


def store_hash(db, user_id: int, password_hash: str | None) -> None:
    def store(*, session):
        session.execute(sa.update(User).where(User.id == user_id).values(password_hash=password_hash))
        session.commit()

    db.run(store)


def new_email() -> str:
    return f"pw-{uuid.uuid4().hex[:10]}@example.org"


def common_passwords_that_pass_the_length_rules() -> list[str]:
    """The list's entries that no other rule refuses: only the list stands between them and an account."""
    lengths = range(passwords.MIN_LENGTH, passwords.MAX_LENGTH + 1)
    return sorted(word for word in passwords.common_passwords() if len(word) in lengths)


def disguised(word: str, index: int) -> str:
    """The same word, as someone might type it: in capitals, capitalised, or with a space around it."""
    return [word.upper(), word.capitalize(), f" {word}", f"{word.swapcase()} "][index % 4]


def spread(words: list[str], count: int) -> list[str]:
    step = max(1, len(words) // count)
    return words[::step][:count]


@pytest.fixture
def web(database_url, tmp_path):
    """The web front on the session's database, without earlier tests' failed logins and ended sessions."""
    app = make_web_app(database_url, tmp_path / "instance")
    with app.extensions["timebank"].engine.begin() as connection:
        connection.execute(sa.delete(LoginFailure))
        connection.execute(sa.delete(RevokedSession))
    yield app
    app.extensions["timebank"].engine.dispose()


# --- argon2id parameters ----------------------------------------------------------------------------------------


def test_a_new_password_is_stored_as_argon2id_with_at_least_19_mib_and_two_passes(db):
    user = db.run(members.register_user, email=new_email(), password="a fresh passphrase to hash")

    password_hash = stored_hash(db, user.id)
    parameters = argon2.extract_parameters(password_hash)

    assert password_hash.startswith("$argon2id$v=19$")
    assert parameters.type is Type.ID
    assert parameters.memory_cost >= MINIMUM_MEMORY_KIB, f"{parameters.memory_cost} KiB"
    assert parameters.time_cost >= MINIMUM_TIME_COST
    assert parameters.parallelism >= 1 and parameters.salt_len >= 16 and parameters.hash_len >= 32
    assert not passwords.needs_rehash(password_hash)
    again = db.run(members.register_user, email=new_email(), password="a fresh passphrase to hash")
    assert stored_hash(db, again.id) != password_hash, "each hash has its own salt"


@pytest.mark.parametrize("weak", list(WEAK_HASHERS), ids=list(WEAK_HASHERS))
def test_the_parameter_check_would_catch_a_weaker_hasher(weak):
    """The assertions above fail for a hash made with weaker parameters or of another argon2 type."""
    with pytest.raises(AssertionError):
        assert_current_parameters(WEAK_HASHERS[weak].hash(PASSWORD))


# --- the list of common passwords -------------------------------------------------------------------------------


def test_the_list_is_a_real_list_of_the_most_common_passwords():
    listed = passwords.common_passwords()
    lines = (resources.files("timebank") / "data/common-passwords.txt").read_text(encoding="utf-8").splitlines()
    entries = [line for line in lines if line and not line.startswith("# ")]

    assert len(listed) >= 10_000, f"only {len(listed)} passwords"
    assert entries[: len(TOP_OF_EVERY_LIST)] == TOP_OF_EVERY_LIST, "most common first"
    assert all(word == word.lower() == word.strip() for word in listed), "lower-case, compared lower-case"
    assert {"iloveyou", "1234567890", "qwertyuiop", "password123", "1q2w3e4r5t", "wachtwoord1", "welkom123"} <= listed
    assert "#1bitch" in listed, "entries that start with '#' are passwords, not comments"
    assert len(common_passwords_that_pass_the_length_rules()) >= 1_000


def test_every_common_password_long_enough_to_be_allowed_is_refused_whatever_its_case():
    refusable = common_passwords_that_pass_the_length_rules()
    for index, word in enumerate(refusable):
        for typed in (word, disguised(word, index)):
            with pytest.raises(errors.InvalidInput, match="too common") as refused:
                passwords.check_password(typed)
            assert refused.value.details["field"] == "password"
    assert len(refusable) > 1_000


@pytest.mark.parametrize("name", list(LONG_PASSPHRASES), ids=list(LONG_PASSPHRASES))
def test_long_and_non_ascii_passphrases_are_accepted_and_log_in(db, name):
    passphrase = LONG_PASSPHRASES[name]
    email = new_email()

    user = db.run(members.register_user, email=email, password=passphrase)

    assert_current_parameters(stored_hash(db, user.id))
    assert db.run(members.authenticate, email=email, password=passphrase).id == user.id
    assert db.run(members.authenticate, email=email, password=passphrase[:-1]) is None
    assert db.run(members.authenticate, email=email, password=passphrase + "x") is None


def test_one_character_past_the_maximum_is_refused_and_creates_nobody(db):
    email = new_email()
    with pytest.raises(errors.InvalidInput, match="at most 1024") as refused:
        db.run(members.register_user, email=email, password="x" * (passwords.MAX_LENGTH - 9) + "ten chars!")
    assert refused.value.details["field"] == "password"
    assert db.read(lambda *, session: session.scalar(sa.select(sa.func.count()).where(User.email == email))) == 0


def test_the_use_cases_refuse_common_passwords_and_accept_long_ones(world, db):
    """register_user, register_and_apply, change_password and reset_password: a sample spread over the list."""
    sample = spread(common_passwords_that_pass_the_length_rules(), 40)
    ans = world.ans
    before = stored_hash(db, ans.user.id)
    for index, word in enumerate(sample):
        typed = disguised(word, index)
        email = new_email()
        with pytest.raises(errors.InvalidInput, match="too common"):
            db.run(members.register_user, email=email, password=typed)
        with pytest.raises(errors.InvalidInput, match="too common"):
            db.run(
                members.register_and_apply,
                email=email,
                password=typed,
                community_id=world.community_id,
                display_name="Nieuw",
            )
        with pytest.raises(errors.InvalidInput, match="too common"):
            db.run(members.change_password, actor=ans.actor, current_password=PASSWORD, new_password=typed)
        with pytest.raises(errors.InvalidInput, match="too common"):
            db.run(
                members.reset_password,
                user_id=ans.user.id,
                fingerprint=members.password_fingerprint(ans.user),
                new_password=typed,
            )
        assert db.read(lambda *, session, e=email: session.scalar(sa.select(User.id).where(User.email == e))) is None
    assert stored_hash(db, ans.user.id) == before, "no refused password changed anything"

    long_one, non_ascii = LONG_PASSPHRASES["the maximum, 1024 characters"], LONG_PASSPHRASES["non-ASCII"]
    db.run(members.change_password, actor=ans.actor, current_password=PASSWORD, new_password=long_one)
    assert db.run(members.authenticate, email=ans.user.email, password=long_one).id == ans.user.id
    changed = db.read(lambda *, session: session.get(User, ans.user.id))
    db.run(
        members.reset_password,
        user_id=ans.user.id,
        fingerprint=members.password_fingerprint(changed),
        new_password=non_ascii,
    )
    assert db.run(members.authenticate, email=ans.user.email, password=non_ascii).id == ans.user.id
    assert db.run(members.authenticate, email=ans.user.email, password=long_one) is None
    assert_current_parameters(stored_hash(db, ans.user.id))


# --- through the web forms --------------------------------------------------------------------------------------


def apply(client, world, password: str, again: str | None = None):
    data = {
        "display_name": "Nieuw Lid",
        "email": new_email(),
        "password": password,
        "password_again": password if again is None else again,
        "neighbourhood": "Oost",
        "note": "",
        "agree_rules": "y",
    }
    return data["email"], submit(client, f"/c/{world.community.slug}/apply", data=data)


def field_error(page: str, field: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    return None if found is None else found.group(1)


def user_id_for(db, email: str) -> int | None:
    return db.read(lambda *, session: session.scalar(sa.select(User.id).where(User.email == email)))


@pytest.mark.parametrize("name", list(LONG_PASSPHRASES), ids=list(LONG_PASSPHRASES))
def test_the_apply_form_accepts_long_and_non_ascii_passphrases_which_then_log_in(web, world, name):
    passphrase = LONG_PASSPHRASES[name]

    email, response = apply(web.test_client(), world, passphrase)

    assert response.status_code == 302, field_error(text(response), "password")
    user_id = user_id_for(world.db, email)
    assert user_id is not None
    assert_current_parameters(stored_hash(world.db, user_id))
    assert log_in(web.test_client(), email, passphrase).status_code == 302
    assert log_in(web.test_client(), email, passphrase[:-1]).status_code == 200


def test_the_web_forms_refuse_common_passwords_whatever_their_case_and_change_nothing(web, world):
    sample = spread(common_passwords_that_pass_the_length_rules(), 8)
    member = web.test_client()
    assert log_in(member, world.ans.user.email).status_code == 302
    before = stored_hash(world.db, world.ans.user.id)
    applicants = world.db.read(lambda *, session: session.scalar(sa.select(sa.func.count(Membership.id))))
    for index, word in enumerate(sample):
        typed = disguised(word, index)

        email, applied = apply(web.test_client(), world, typed)
        assert applied.status_code == 200 and field_error(text(applied), "password"), typed
        assert user_id_for(world.db, email) is None

        changed = submit(
            member,
            "/account",
            data={"form": "password", "current_password": PASSWORD, "new_password": typed, "new_password_again": typed},
        )
        assert changed.status_code == 200 and field_error(text(changed), "new_password"), typed

    assert stored_hash(world.db, world.ans.user.id) == before
    assert world.db.read(lambda *, session: session.scalar(sa.select(sa.func.count(Membership.id)))) == applicants


def test_the_account_page_accepts_a_passphrase_of_the_maximum_length(web, world):
    passphrase = LONG_PASSPHRASES["non-ASCII at the maximum"]
    member = web.test_client()
    assert log_in(member, world.bert.user.email).status_code == 302

    changed = submit(
        member,
        "/account",
        data={
            "form": "password",
            "current_password": PASSWORD,
            "new_password": passphrase,
            "new_password_again": passphrase,
        },
    )

    assert changed.status_code == 302, field_error(text(changed), "new_password")
    assert_current_parameters(stored_hash(world.db, world.bert.user.id))
    assert log_in(web.test_client(), world.bert.user.email, passphrase).status_code == 302
    assert log_in(web.test_client(), world.bert.user.email).status_code == 200, "the old password no longer works"


def reset_page(web, db, email: str, user_id: int) -> str:
    """Ask for a link to set a new password, and return the path in the mail."""
    assert submit(web.test_client(), "/password/forgotten", data={"email": email}).status_code == 302
    mail = db.read(
        lambda *, session: session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.user_id == user_id, OutboxMessage.kind == "password_reset")
            .order_by(OutboxMessage.id.desc())
        ).first()
    )
    return RESET_LINK.search(mail.body).group(1)


def test_the_reset_form_refuses_a_common_password_and_accepts_a_long_one(web, world):
    cor = world.cor.user
    before = stored_hash(world.db, cor.id)
    path = reset_page(web, world.db, cor.email, cor.id)
    client = web.test_client()

    refused = submit(client, path, data={"password": "Password123", "password_again": "Password123"})

    assert refused.status_code == 200 and field_error(text(refused), "password")
    assert stored_hash(world.db, cor.id) == before, "nothing changed, and the link still works"

    passphrase = LONG_PASSPHRASES["the maximum, 1024 characters"]
    accepted = submit(client, path, data={"password": passphrase, "password_again": passphrase})

    assert accepted.status_code == 302 and accepted.headers["Location"].endswith("/login")
    assert_current_parameters(stored_hash(world.db, cor.id))
    assert log_in(web.test_client(), cor.email, passphrase).status_code == 302


def test_the_api_sets_no_password(web):
    """Every way to set a password is covered above; the API has none (a new one must be tested here)."""
    document = web.test_client().get("/api/v1/openapi.json").get_data(as_text=True)
    assert '"paths"' in document
    assert "password" not in document.lower()


# --- a weaker old hash is upgraded at login ---------------------------------------------------------------------


@pytest.mark.parametrize("weak", list(WEAK_HASHERS), ids=list(WEAK_HASHERS))
def test_a_weaker_hash_is_upgraded_by_the_use_case_and_the_password_still_works(world, weak):
    db, ans = world.db, world.ans.user
    old = WEAK_HASHERS[weak].hash(PASSWORD)
    store_hash(db, ans.id, old)

    assert db.run(members.authenticate, email=ans.email, password="not the password") is None
    assert stored_hash(db, ans.id) == old, "a failed login changes nothing"

    user = db.run(members.authenticate, email=ans.email, password=PASSWORD)

    upgraded = stored_hash(db, ans.id)
    assert user.id == ans.id and user.password_hash == upgraded != old
    assert_current_parameters(upgraded)
    assert passwords.verify_password(upgraded, PASSWORD)
    assert db.run(members.authenticate, email=ans.email, password=PASSWORD).id == ans.id
    assert stored_hash(db, ans.id) == upgraded, "a current hash is left alone"


@pytest.mark.parametrize("weak", list(WEAK_HASHERS), ids=list(WEAK_HASHERS))
def test_a_web_login_upgrades_a_weaker_hash_and_its_own_session_stays_valid(web, world, weak):
    db, ans = world.db, world.ans.user
    old = WEAK_HASHERS[weak].hash(PASSWORD)
    store_hash(db, ans.id, old)
    client = web.test_client()

    assert log_in(client, ans.email).status_code == 302

    upgraded = stored_hash(db, ans.id)
    assert upgraded != old
    assert_current_parameters(upgraded)
    # The session that login started carries the fingerprint of the new hash: it stays signed in, on the web
    # pages and in the API (which reads the same session).
    assert client.get("/account").status_code == 200
    assert client.get(f"/c/{world.community.slug}/").status_code == 200
    me = client.get("/api/v1/me")
    assert me.status_code == 200, me.get_data(as_text=True)
    with client.session_transaction() as session:
        assert session["password_fingerprint"] == passwords.fingerprint(upgraded) != passwords.fingerprint(old)
    # The old password still works, and the next login leaves the hash (and so that session) alone.
    assert log_in(web.test_client(), ans.email).status_code == 302
    assert stored_hash(db, ans.id) == upgraded
    assert client.get("/account").status_code == 200


def test_two_logins_at_once_upgrade_the_hash_once_and_both_sessions_stay_valid(world, monkeypatch, database_kind):
    """Both verify the old hash; the first upgrade stands, the second finds it and keeps it. (SQLite runs one
    writer at a time, so there the second login simply finds the upgraded hash.)"""
    db, ans = world.db, world.ans.user
    store_hash(db, ans.id, WEAK_HASHERS["one pass over 8 MiB"].hash(PASSWORD))
    if database_kind == "postgresql":
        both_verified = threading.Barrier(2, timeout=30)
        needs_rehash = passwords.needs_rehash

        def after_both_verified(password_hash):
            both_verified.wait()
            return needs_rehash(password_hash)

        monkeypatch.setattr(passwords, "needs_rehash", after_both_verified)
    results, failures = {}, []

    def log_in_as_ans(name):
        try:
            user = db.run(members.authenticate, email=ans.email, password=PASSWORD)
            fingerprint = db.read(credentials.session_fingerprint, user_id=ans.id)
            results[name] = (user.password_hash, fingerprint)
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=log_in_as_ans, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    monkeypatch.undo()
    assert not failures and len(results) == 2, failures

    final = stored_hash(db, ans.id)
    assert_current_parameters(final)
    for returned_hash, fingerprint in results.values():
        assert returned_hash == final, "each login saw the hash that stands"
        assert fingerprint == passwords.fingerprint(final), "so each session carries its fingerprint"
        assert db.read(credentials.authenticate_session_user, user_id=ans.id, password_fingerprint=fingerprint)


# --- the same work for an unknown email -------------------------------------------------------------------------


@pytest.fixture
def verified_hashes(monkeypatch):
    """Every hash that argon2 verifies a password against, in order."""
    seen = []
    verify = PasswordHasher.verify

    def counting(self, password_hash, password):
        seen.append(password_hash)
        return verify(self, password_hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return seen


def test_an_unknown_email_costs_one_verification_with_todays_parameters_like_a_known_one(world, verified_hashes):
    db = world.db
    nameless = add_user(db)
    store_hash(db, nameless.id, None)  # an account that has no password (cannot log in)
    attempts = {
        "known, wrong password": (world.ans.user.email, "not the password at all"),
        "known, right password": (world.ans.user.email, PASSWORD),
        "unknown": ("nobody-here@example.org", "not the password at all"),
        "unknown, with a known password": ("nobody-here@example.org", PASSWORD),
        "no password stored": (nameless.email, "not the password at all"),
        "no password stored, typing the dummy's": (nameless.email, "no such user, but the same work"),
    }
    passwords.dummy_hash()  # made once, before counting
    for name, (email, password) in attempts.items():
        verified_hashes.clear()
        user = db.run(members.authenticate, email=email, password=password)
        assert (user is not None) == (name == "known, right password"), name
        assert len(verified_hashes) == 1, f"{name}: {len(verified_hashes)} verifications"
        assert argon2.extract_parameters(verified_hashes[0]) == current_parameters(), name


def test_the_login_page_does_the_same_hashing_work_for_an_unknown_email(web, world, verified_hashes):
    passwords.dummy_hash()
    counts = {}
    for email in (world.bert.user.email, "nobody-here@example.org"):
        verified_hashes.clear()
        client = web.test_client()
        page = text(client.get("/login"))
        response = client.post(
            "/login", data={"email": email, "password": "a wrong guess here", "csrf_token": csrf_token(page)}
        )
        assert response.status_code == 200
        counts[email] = [argon2.extract_parameters(h) for h in verified_hashes]
    assert list(counts.values())[0] == list(counts.values())[1] == [current_parameters()]
