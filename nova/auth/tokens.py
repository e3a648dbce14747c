"""Tokens for the OpenStack API: random strings the database knows only by their SHA-256.

A token names a user and a project and expires after ``--auth_token_ttl``
seconds (or the lifetime given when it is made).  Authenticating a token
gives the same ``Credentials`` as an access key, with the roles looked up
afresh, so a role taken away or a user removed from the project counts at
once.  An unknown, expired or deleted token, or one whose user or project is
gone, is ``TokenNotFound``.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
from dataclasses import dataclass

from nova import context, exception, flags, utils
from nova.auth import credentials
from nova.db import api as db

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_integer("auth_token_ttl", 3600, "Seconds an OpenStack API token stays valid", lower_bound=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(user_id: str, project_id: str | None, ttl: int | None = None) -> str:
    """A new token for ``user_id`` in ``project_id`` (default: the user's first); only its hash is stored."""
    admin = context.get_admin_context()
    project_id = credentials.for_user(db.user_get(admin, user_id), project_id).project_id
    lifetime = FLAGS.auth_token_ttl if ttl is None else ttl
    if lifetime <= 0:
        raise exception.InvalidInput(reason="a token's lifetime must be positive")
    token = secrets.token_urlsafe(32)
    db.auth_token_create(admin, {
        "token_hash": token_hash(token),
        "user_id": user_id,
        "project_id": project_id,
        "expires_at": utils.utcnow() + datetime.timedelta(seconds=lifetime),
    })
    LOG.info("Created a token for %s in project %s, valid %s s", user_id, project_id, lifetime)
    return token


@dataclass(frozen=True)
class TokenInfo:
    """What a token stands for and how long: the identity API shows all of it."""

    credentials: credentials.Credentials
    issued_at: datetime.datetime
    expires_at: datetime.datetime


def describe(token: str) -> TokenInfo:
    """The credentials of a token with its issue and expiry times (naive UTC)."""
    admin = context.get_admin_context()
    row = db.auth_token_get(admin, token_hash(token))
    try:
        user = db.user_get(admin, row["user_id"])
        creds = credentials.for_user(user, row["project_id"])
    except exception.NotFound:
        raise exception.TokenNotFound() from None
    return TokenInfo(creds, row["created_at"] or row["expires_at"], row["expires_at"])


def authenticate(token: str) -> credentials.Credentials:
    """The credentials a token stands for."""
    return describe(token).credentials


def delete(token: str) -> None:
    db.auth_token_destroy(context.get_admin_context(), token_hash(token))
