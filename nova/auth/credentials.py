"""Who is calling: an access key or a token turned into credentials, and the one clock-skew rule.

Every front end (the EC2 API, the objectstore, later the OpenStack API and
the identity endpoint) asks here, through ``AuthManager``, and maps the nova
exceptions raised to its own error format:

- ``AccessKeyNotFound``: no user has the access key;
- ``ProjectNotFound``: the access key names a project that does not exist;
- ``ProjectMembershipNotFound``: the user is not a member of the named
  project (and not a superuser);
- ``UserHasNoProject``: the access key names no project and the user has none;
- ``UnsignedProjectKey``: the signature does not cover the access key (a
  SigV4 ``Authorization`` header, S3's SigV2) and the key does not name the
  project by itself (see below);
- ``RequestTimeSkewed``: the request's date is too far from this host's clock.

An access key is either a project's pair (``nova-manage credentials
create``: the key alone names user and project, the pair's secret signs) or
the user's own key, ``ACCESS[:PROJECT]`` signed with the user's secret.  The
user's own key binds a request to a project only where the signature covers
the access key (EC2's SigV2, presigned SigV4), because the same secret signs
for every project of the user: elsewhere a captured request's suffix could be
edited, so there only a pair, or a bare key of a user who can act in one
project only, is accepted.

A looked-up access key is kept for ``--auth_cache_seconds`` (one request is
many database reads otherwise); changes made through ``AuthManager`` in this
process empty the cache at once, changes made elsewhere (another daemon,
``nova-manage``) are seen after at most that long.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from absl import flags as absl_flags

from nova import context, exception, flags, utils
from nova.db import api as db

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_float("auth_cache_seconds", 2.0, "Seconds a looked-up access key (user, secret, project, roles) "
                   "is reused before the database is asked again; 0 disables (--s3_auth_cache_seconds is "
                   "another name for it)", lower_bound=0)
flags.DEFINE_integer("auth_max_clock_skew", 900, "Seconds a signed request's date (EC2 and S3) may differ "
                     "from this host's clock (--ec2_timestamp_skew and --s3_max_clock_skew are other names "
                     "for it)", lower_bound=1)
flags.DEFINE_list("global_roles", ["cloudadmin", "itsec"], "Roles that hold in every project")
flags.DEFINE_list("superuser_roles", ["cloudadmin"], "Roles that bypass role checks")

# The names these settings had before there was one of each; operators' flagfiles keep working.
_OLD_NAMES = {"s3_auth_cache_seconds": "auth_cache_seconds", "ec2_timestamp_skew": "auth_max_clock_skew",
              "s3_max_clock_skew": "auth_max_clock_skew"}
for _old, _new in _OLD_NAMES.items():
    if _old not in FLAGS:
        absl_flags.DEFINE_alias(_old, _new, flag_values=FLAGS)

PROJECT_MANAGER_ROLE = "projectmanager"
_CACHE_LIMIT = 1024


@dataclass(frozen=True)
class Credentials:
    """A user acting in a project: what a front end needs to check a signature and build a context."""

    user_id: str
    secret_key: str
    project_id: str
    roles: list[str] = field(default_factory=list)
    is_admin: bool = False
    # Whether the access key alone names the project (a project's pair, or a bare user key that can mean one
    # project only); when False only a signature covering the access key binds the request to its project.
    key_names_project: bool = field(default=True, compare=False)

    def to_context(self, request_id: str | None = None, remote_address: str | None = None) -> context.RequestContext:
        return context.RequestContext(user_id=self.user_id, project_id=self.project_id, roles=list(self.roles),
                                      is_admin=self.is_admin, request_id=request_id, remote_address=remote_address)


_cache: dict[str, tuple[float, Credentials]] = {}
_lock = threading.Lock()
# One lookup of an access key at a time (keys share these by hash): when a key's entry runs out under load,
# the requests that find it gone wait for the first one's lookup instead of each reading the same rows.
_lookups = [threading.Lock() for _ in range(16)]


def _monotonic() -> float:
    return time.monotonic()


def _now() -> datetime.datetime:
    return utils.utcnow()


def clear_cache() -> None:
    """Forget every looked-up access key (called after any change through AuthManager)."""
    with _lock:
        _cache.clear()


def effective_roles(global_roles: list[str], project_roles: list[str], is_manager: bool) -> list[str]:
    """Roles held in a project: global roles hold everywhere, the others also need the project grant."""
    roles = []
    for role in global_roles:
        if role == PROJECT_MANAGER_ROLE:
            held = is_manager
        else:
            held = role in FLAGS.global_roles or role in project_roles
        if held and role not in roles:
            roles.append(role)
    if is_manager and PROJECT_MANAGER_ROLE not in roles:
        roles.append(PROJECT_MANAGER_ROLE)
    return roles


def is_superuser(user: Any, global_roles: list[str]) -> bool:
    return bool(user["is_admin"]) or any(r in FLAGS.superuser_roles for r in global_roles)


def for_user(user: Any, project_id: str | None) -> Credentials:
    """Credentials of ``user`` (a users row) in ``project_id``, or in the user's first project."""
    return _for_user(user, project_id)[0]


def _for_user(user: Any, project_id: str | None) -> tuple[Credentials, int]:
    """``for_user`` and the number of projects the user is a member of, from two statements (three
    when naming a project the user is not a member of)."""
    admin = context.get_admin_context()
    global_roles, member_of, project_roles = db.user_get_grants(admin, user["id"])
    superuser = is_superuser(user, global_roles)
    if project_id:
        project = next((p for p in member_of if p[0] == project_id), None)
        if project is None:
            row = db.project_get(admin, project_id)  # ProjectNotFound first, as for a member
            if not superuser:
                raise exception.ProjectMembershipNotFound(user_id=user["id"], project_id=project_id)
            project = (row["id"], row["project_manager"])
    else:
        if not member_of:
            raise exception.UserHasNoProject(user_id=user["id"])
        project = member_of[0]
    roles = effective_roles(global_roles, project_roles.get(project[0], []), project[1] == user["id"])
    return Credentials(user["id"], user["secret_key"], project[0], roles, superuser), len(member_of)


def for_access_key(access_key: str, proof: Callable[[str], None] | None = None) -> Credentials:
    """Credentials of ``ACCESS[:PROJECT]``, briefly cached.

    ``proof``, when given, is called with the user's secret key before the
    project is checked and may raise (a front end checks the request's
    signature there), so a caller who cannot sign learns nothing about
    projects.
    """
    creds = _cached(access_key, proof)
    if creds is not None:
        return creds
    with _lookups[hash(access_key) % len(_lookups)]:
        creds = _cached(access_key, proof)  # looked up meanwhile by a request that got here first
        if creds is not None:
            return creds
        now = _monotonic()
        creds = _lookup(access_key, proof)
        if FLAGS.auth_cache_seconds > 0:
            with _lock:
                if len(_cache) >= _CACHE_LIMIT:
                    _cache.clear()
                _cache[access_key] = (now + FLAGS.auth_cache_seconds, creds)
    return creds


def _cached(access_key: str, proof: Callable[[str], None] | None) -> Credentials | None:
    """The key's credentials if they are cached and fresh (``proof`` called with their secret), else None."""
    with _lock:
        cached = _cache.get(access_key)
    if cached is None or cached[0] <= _monotonic():
        return None
    if proof is not None:
        proof(cached[1].secret_key)
    return cached[1]


def _lookup(access_key: str, proof: Callable[[str], None] | None) -> Credentials:
    admin = context.get_admin_context()
    if ":" not in access_key:
        try:
            pair = db.ec2_credential_get(admin, access_key)
        except exception.AccessKeyNotFound:
            pass
        else:
            if proof is not None:
                proof(pair["secret_key"])
            creds = for_user(db.user_get(admin, pair["user_id"]), pair["project_id"])
            return dataclasses.replace(creds, secret_key=pair["secret_key"])
    access, sep, project_id = access_key.rpartition(":")
    if not sep:
        access, project_id = access_key, ""
    user = db.user_get_by_access_key(admin, access)
    if proof is not None:
        proof(user["secret_key"])
    creds, projects = _for_user(user, project_id or None)
    one_project = not sep and not creds.is_admin and projects == 1
    return dataclasses.replace(creds, key_names_project=one_project)


def check_clock_skew(when: datetime.datetime, now: datetime.datetime | None = None,
                     future_only: bool = False) -> None:
    """Refuse a request dated more than ``--auth_max_clock_skew`` seconds from this host's clock.

    ``when`` and ``now`` are naive UTC.  ``future_only`` is for presigned
    requests, which are legitimately old until they expire (each API checks
    the expiry its own way).
    """
    now = now or _now()
    skew = FLAGS.auth_max_clock_skew
    late = (when - now).total_seconds()
    direction = None
    if late > skew:
        direction = "future"
    elif not future_only and -late > skew:
        direction = "past"
    if direction is not None:
        raise exception.RequestTimeSkewed(request_time=when.strftime("%Y-%m-%dT%H:%M:%SZ"), max_skew=skew,
                                          direction=direction)
