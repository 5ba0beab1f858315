"""Passwords: argon2id hashes, long passphrases welcome, the most common passwords refused."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from timebank.errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 1024
# OWASP's argon2id minimum: 19 MiB of memory, two passes.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@cache
def common_passwords() -> frozenset[str]:
    """The list shipped in ``timebank/data/common-passwords.txt`` (its comment lines start with "# ": a few
    common passwords start with "#" themselves)."""
    text = resources.files("timebank").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("# "))


@cache
def dummy_hash() -> str:
    """A hash to verify against when no user matches, so that the answer takes as long either way."""
    return HASHER.hash("no such user, but the same work")


def check_password(password) -> str:
    """Refuse a password that is too short, too long or among the most common ones."""
    if not isinstance(password, str):
        raise InvalidInput("the password must be text", field="password")
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"the password needs at least {MIN_LENGTH} characters", field="password")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"the password may be at most {MAX_LENGTH} characters", field="password")
    if password.strip().lower() in common_passwords():
        raise InvalidInput("this password is too common; choose another", field="password")
    return password


def hash_password(password: str) -> str:
    return HASHER.hash(check_password(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; False for a missing or malformed hash."""
    if not password_hash or not isinstance(password, str) or len(password) > MAX_LENGTH:
        return False
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash is weaker than today's parameters and should be replaced at the next login."""
    return HASHER.check_needs_rehash(password_hash)


def fingerprint(password_hash: str | None) -> str:
    """A short digest of a stored password hash. A web session and a link to set a new password carry it, so
    they die as soon as the password changes. The hash holds a random salt: the digest reveals nothing that
    helps guess the password."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:32]
