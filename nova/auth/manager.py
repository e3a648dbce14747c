"""Users, projects, roles and EC2 credentials.

Roles follow the first Nova: ``cloudadmin`` and ``itsec`` are global (they
hold in every project); ``sysadmin``, ``netadmin`` and ``developer`` hold in a
project only when the user has them both globally and in that project; a
project's manager is implicitly its ``projectmanager``.  An admin user is a
superuser.
"""

from __future__ import annotations

import datetime
import functools
import hmac
import io
import logging
import secrets
import uuid
import zipfile
from typing import Any, Callable, TypeVar, cast

from nova import context, exception, flags
from nova.auth import catalog, credentials, passwords, tokens
from nova.auth.credentials import PROJECT_MANAGER_ROLE, Credentials
from nova.db import api as db

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_list("allowed_roles", ["cloudadmin", "itsec", "sysadmin", "netadmin", "developer"],
                  "Roles a user may be given")
flags.DEFINE_string("credentials_template", None, "Template file for novarc (default: built in)")
flags.DEFINE_string("credential_rc_file", "novarc", "Name of the rc file inside credential zips")

F = TypeVar("F", bound=Callable[..., Any])


def _admin() -> context.RequestContext:
    return context.get_admin_context()


def ec2_url() -> str:
    return f"{FLAGS.ec2_scheme}://{FLAGS.ec2_host}:{FLAGS.ec2_port}{FLAGS.ec2_path}"


def s3_url() -> str:
    return f"http://{FLAGS.s3_host}:{FLAGS.s3_port}"


def osapi_url() -> str:
    return f"http://{FLAGS.osapi_host}:{FLAGS.osapi_port}{FLAGS.osapi_path}"


_RC_TEMPLATE = """\
# nova credentials for user {user} in project {project}; use with: source {rcfile}
export EC2_URL="{ec2_url}"
export S3_URL="{s3_url}"
export EC2_ACCESS_KEY="{access}"
export EC2_SECRET_KEY="{secret}"
export AWS_ACCESS_KEY_ID="{access}"
export AWS_SECRET_ACCESS_KEY="{secret}"
export AWS_DEFAULT_REGION="{region}"
export AWS_ENDPOINT_URL_EC2="{ec2_url}"
export AWS_ENDPOINT_URL_S3="{s3_url}"
export OS_AUTH_URL="{auth_url}"
export OS_IDENTITY_API_VERSION=3
export OS_USERNAME="{user}"
{os_password}
export OS_PROJECT_NAME="{project}"
export OS_USER_DOMAIN_NAME="Default"
export OS_PROJECT_DOMAIN_NAME="Default"
export OS_REGION_NAME="{region}"
export OS_INTERFACE=public
"""


# Only when the OpenStack API is served: a novarc names only endpoints that answer.
_RC_OSAPI = """\
export NOVA_URL="{nova_url}"
export NOVA_USERNAME="{user}"
export NOVA_API_KEY="{user_access}"
export NOVA_PROJECT_ID="{project}"
"""


def osapi_served() -> bool:
    """True unless --osapi_port is 0 (nova-api then serves no OpenStack compute API)."""
    return bool(FLAGS.osapi_port)


def _changes_credentials(method: F) -> F:
    """Empty the access-key cache after ``method``, so this process sees the change at once."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        finally:
            credentials.clear_cache()

    return cast(F, wrapper)


class AuthManager:
    """Operations on users, projects and roles, all through the db API."""

    # -- users ---------------------------------------------------------------
    @_changes_credentials
    def create_user(self, name: str, access: str | None = None, secret: str | None = None,
                    admin: bool = False) -> Any:
        _check_name(name, "user")
        values = {
            "id": name,
            "name": name,
            "access_key": access or str(uuid.uuid4()),
            "secret_key": secret or secrets.token_urlsafe(30),
            "is_admin": bool(admin),
        }
        if ":" in values["access_key"]:
            raise exception.InvalidInput(reason="an access key may not contain ':'")
        user = db.user_create(_admin(), values)
        LOG.info("Created user %s (admin=%s)", name, bool(admin))
        return user

    def get_user(self, name: str) -> Any:
        return db.user_get(_admin(), name)

    def get_users(self) -> list[Any]:
        return db.user_get_all(_admin())

    def get_user_from_access_key(self, access: str) -> Any:
        return db.user_get_by_access_key(_admin(), access)

    @_changes_credentials
    def modify_user(self, name: str, access: str | None = None, secret: str | None = None,
                    admin: bool | None = None) -> Any:
        values: dict[str, Any] = {}
        if access:
            if ":" in access:
                raise exception.InvalidInput(reason="an access key may not contain ':'")
            values["access_key"] = access
        if secret:
            values["secret_key"] = secret
        if admin is not None:
            values["is_admin"] = bool(admin)
        return db.user_update(_admin(), name, values)

    @_changes_credentials
    def delete_user(self, name: str) -> None:
        ctxt = _admin()
        db.user_get(ctxt, name)
        managed = [p["id"] for p in db.project_get_all(ctxt) if p["project_manager"] == name]
        if managed:
            raise exception.Invalid(f"User {name} manages project(s) {', '.join(managed)}; delete or reassign them first")
        db.user_delete(ctxt, name)
        LOG.info("Deleted user %s", name)

    @_changes_credentials
    def set_password(self, name: str, password: str | None) -> None:
        """Set the user's identity-API password (stored salted and hashed); None goes back to the secret key."""
        if password is not None and not password:
            raise exception.InvalidInput(reason="a password may not be empty")
        value = passwords.hash_password(password) if password is not None else None
        db.user_update(_admin(), name, {"password_hash": value})
        LOG.info("%s the password of user %s", "Set" if value else "Cleared", name)

    def has_password(self, name: str) -> bool:
        return bool(db.user_get(_admin(), name)["password_hash"])

    def check_password(self, name: str, password: str) -> bool:
        """Whether ``password`` is the user's: its password if one was set, else its EC2 secret key."""
        record = db.user_get(_admin(), name)
        if record["password_hash"]:
            return passwords.verify_password(password, record["password_hash"])
        return hmac.compare_digest(password.encode("utf-8"), (record["secret_key"] or "").encode("utf-8"))

    # -- projects --------------------------------------------------------------
    @_changes_credentials
    def create_project(self, name: str, manager_user: str, description: str | None = None,
                       member_users: list[str] | None = None) -> Any:
        _check_name(name, "project")
        ctxt = _admin()
        db.user_get(ctxt, manager_user)
        project = db.project_create(ctxt, {
            "id": name,
            "name": name,
            "description": description or name,
            "project_manager": manager_user,
        })
        for member in {manager_user, *(member_users or [])}:
            db.project_add_member(ctxt, name, member)
        LOG.info("Created project %s managed by %s", name, manager_user)
        return project

    def get_project(self, name: str) -> Any:
        return db.project_get(_admin(), name)

    def get_projects(self, user: str | None = None) -> list[Any]:
        if user is None:
            return db.project_get_all(_admin())
        return db.project_get_by_user(_admin(), user)

    @_changes_credentials
    def modify_project(self, name: str, manager_user: str | None = None, description: str | None = None) -> Any:
        ctxt = _admin()
        values: dict[str, Any] = {}
        if manager_user:
            db.user_get(ctxt, manager_user)
            values["project_manager"] = manager_user
        if description is not None:
            values["description"] = description
        project = db.project_update(ctxt, name, values)
        if manager_user and not self.is_project_member(manager_user, name):
            db.project_add_member(ctxt, name, manager_user)
        return project

    @_changes_credentials
    def delete_project(self, name: str) -> None:
        ctxt = _admin()
        db.project_get(ctxt, name)
        db.quota_destroy_all_by_project(ctxt, name)
        db.project_delete(ctxt, name)
        LOG.info("Deleted project %s", name)

    @_changes_credentials
    def add_to_project(self, user: str, project: str) -> None:
        ctxt = _admin()
        db.user_get(ctxt, user)
        db.project_get(ctxt, project)
        if not self.is_project_member(user, project):
            db.project_add_member(ctxt, project, user)

    @_changes_credentials
    def remove_from_project(self, user: str, project: str) -> None:
        ctxt = _admin()
        if db.project_get(ctxt, project)["project_manager"] == user:
            raise exception.Invalid(f"User {user} manages project {project} and cannot leave it")
        if not self.is_project_member(user, project):
            raise exception.ProjectMembershipNotFound(user_id=user, project_id=project)
        for role in db.user_get_roles_for_project(ctxt, user, project):
            db.user_remove_project_role(ctxt, user, project, role)
        db.project_remove_member(ctxt, project, user)

    def get_project_members(self, project: str) -> list[Any]:
        return db.project_get_members(_admin(), project)

    def is_project_member(self, user: str, project: str) -> bool:
        return any(u["id"] == user for u in db.project_get_members(_admin(), project))

    def is_project_manager(self, user: str, project: str) -> bool:
        return db.project_get(_admin(), project)["project_manager"] == user

    # -- roles -----------------------------------------------------------------
    @_changes_credentials
    def add_role(self, user: str, role: str, project: str | None = None) -> None:
        ctxt = _admin()
        self._check_role(role, project)
        db.user_get(ctxt, user)
        if project is None:
            if role not in db.user_get_roles(ctxt, user):
                db.user_add_role(ctxt, user, role)
            return
        if not self.is_project_member(user, project):
            raise exception.ProjectMembershipNotFound(user_id=user, project_id=project)
        if role not in db.user_get_roles_for_project(ctxt, user, project):
            db.user_add_project_role(ctxt, user, project, role)

    @_changes_credentials
    def remove_role(self, user: str, role: str, project: str | None = None) -> None:
        ctxt = _admin()
        self._check_role(role, project)
        if project is None:
            db.user_remove_role(ctxt, user, role)
        else:
            db.user_remove_project_role(ctxt, user, project, role)

    def has_role(self, user: str, role: str, project: str | None = None) -> bool:
        """Whether ``user`` holds ``role`` (in ``project`` when given)."""
        ctxt = _admin()
        if role == PROJECT_MANAGER_ROLE:
            return project is not None and self.is_project_manager(user, project)
        global_roles = db.user_get_roles(ctxt, user)
        if role not in global_roles:
            return False
        if project is None or role in FLAGS.global_roles:
            return True
        return role in db.user_get_roles_for_project(ctxt, user, project)

    def get_roles(self, project_roles: bool = True) -> list[str]:
        """Roles that may be given, either in a project or globally."""
        if project_roles:
            return [r for r in FLAGS.allowed_roles if r not in FLAGS.global_roles]
        return list(FLAGS.allowed_roles)

    def get_user_roles(self, user: str, project: str | None = None) -> list[str]:
        """Roles ``user`` effectively holds, globally or in ``project``."""
        ctxt = _admin()
        global_roles = db.user_get_roles(ctxt, user)
        if project is None:
            return [r for r in global_roles if r != PROJECT_MANAGER_ROLE]
        return credentials.effective_roles(global_roles, db.user_get_roles_for_project(ctxt, user, project),
                                           self.is_project_manager(user, project))

    def is_superuser(self, user: str) -> bool:
        record = db.user_get(_admin(), user)
        return credentials.is_superuser(record, db.user_get_roles(_admin(), user))

    def _check_role(self, role: str, project: str | None) -> None:
        if role not in FLAGS.allowed_roles:
            raise exception.RoleNotFound(role=role)
        if project is not None and role in FLAGS.global_roles:
            raise exception.Invalid(f"The {role} role is global and cannot be given in a project")

    # -- who is calling ------------------------------------------------------------
    def credentials_for_access_key(self, access_key: str, proof: Callable[[str], None] | None = None,
                                   signature_covers_key: bool = True) -> Credentials:
        """User, secret, project and roles of a project's pair or of ``ACCESS[:PROJECT]`` (briefly cached).

        Raises AccessKeyNotFound, ProjectNotFound, ProjectMembershipNotFound
        or UserHasNoProject; ``proof(secret)`` runs before the project is
        checked.  When the request's signature does not cover the access key
        (``signature_covers_key=False``: a SigV4 Authorization header, S3's
        SigV2), a user's own key that could mean another project raises
        UnsignedProjectKey.  See ``nova.auth.credentials``.
        """
        creds = credentials.for_access_key(access_key, proof)
        if not signature_covers_key:
            self.require_key_names_project(access_key, creds)
        return creds

    @staticmethod
    def require_key_names_project(access_key: str, creds: Credentials) -> None:
        """Raise UnsignedProjectKey unless ``access_key`` alone names ``creds``' project (for a signature
        that does not cover the access key, checked once the signature is good)."""
        if not creds.key_names_project:
            raise exception.UnsignedProjectKey(access_key=access_key[:128], user_id=creds.user_id,
                                               project_id=creds.project_id)

    @staticmethod
    def check_clock_skew(when: datetime.datetime, now: datetime.datetime | None = None,
                         future_only: bool = False) -> None:
        """Raise RequestTimeSkewed unless ``when`` is within ``--auth_max_clock_skew`` of ``now``."""
        credentials.check_clock_skew(when, now, future_only)

    def create_token(self, user_id: str, project_id: str | None = None, ttl: int | None = None) -> str:
        """A new OpenStack API token (``--auth_token_ttl`` seconds unless ``ttl`` is given)."""
        return tokens.create(user_id, project_id, ttl)

    def credentials_for_password(self, user: str, password: str, project: str) -> Credentials:
        """The user's credentials in ``project`` once ``password`` is proven.

        Raises UserNotFound, AuthenticationFailed (wrong password), then
        ProjectNotFound or ProjectMembershipNotFound: the project is looked at
        only after the password, so a stranger learns nothing about projects.
        """
        if not self.check_password(user, password):
            raise exception.AuthenticationFailed()
        return credentials.for_user(db.user_get(_admin(), user), project)

    def describe_token(self, token: str) -> tokens.TokenInfo:
        """A token's credentials with its issue and expiry times; TokenNotFound like ``authenticate_token``."""
        return tokens.describe(token)

    def authenticate_token(self, token: str) -> Credentials:
        """The credentials of a token; TokenNotFound when unknown, expired or its user is gone."""
        return tokens.authenticate(token)

    def delete_token(self, token: str) -> None:
        tokens.delete(token)

    def purge_expired_tokens(self) -> int:
        return db.auth_token_purge_expired(_admin())

    # -- access/secret pairs per project ----------------------------------------------
    @_changes_credentials
    def create_ec2_credentials(self, user: str, project: str, access: str | None = None,
                               secret: str | None = None) -> Any:
        """A new access/secret pair of ``user`` for ``project`` (a member, or a superuser)."""
        ctxt = _admin()
        record = db.user_get(ctxt, user)
        db.project_get(ctxt, project)
        if not self.is_project_member(user, project) and not self.is_superuser(record["id"]):
            raise exception.ProjectMembershipNotFound(user_id=user, project_id=project)
        access = access or uuid.uuid4().hex
        if ":" in access or not access.strip() or access.strip() != access:
            raise exception.InvalidInput(reason="an access key may not contain ':' or blanks at its ends")
        pair = db.ec2_credential_create(ctxt, {"access_key": access, "secret_key": secret or secrets.token_hex(20),
                                               "user_id": user, "project_id": project})
        LOG.info("Created an access key of %s for project %s", user, project)
        return pair

    def get_ec2_credentials(self, user: str | None = None, project: str | None = None) -> list[Any]:
        """Pairs, oldest first, of one user and/or project when given."""
        return db.ec2_credential_get_all(_admin(), user, project)

    @_changes_credentials
    def delete_ec2_credentials(self, access: str) -> None:
        db.ec2_credential_delete(_admin(), access)
        LOG.info("Deleted access key %s", access)

    def project_ec2_credentials(self, user: str, project: str) -> Any:
        """The user's oldest pair for ``project``, made now if it has none."""
        pairs = self.get_ec2_credentials(user, project)
        return pairs[0] if pairs else self.create_ec2_credentials(user, project)

    # -- credentials -------------------------------------------------------------
    def get_environment_rc(self, user: str, project: str, rcfile: str = "novarc") -> str:
        """A novarc for ``source``: EC2, S3 and OpenStack URLs and keys, and the ``OS_*`` variables of the
        OpenStack clients (``OS_PASSWORD`` is the user's secret key unless the user has a password of its own).

        The EC2 and S3 keys are the user's pair for ``project`` (made now if there is none): only such a key
        binds a request signed with a SigV4 Authorization header to its project.  In a
        ``--credentials_template``, ``{access}``/``{secret}`` are the pair, ``{user_access}``/``{user_secret}``
        the user's own keys."""
        ctxt = _admin()
        record = db.user_get(ctxt, user)
        db.project_get(ctxt, project)
        if not self.is_project_member(user, project):
            raise exception.ProjectMembershipNotFound(user_id=user, project_id=project)
        if record["password_hash"]:
            os_password = (f"# OS_PASSWORD is not written: {user} has a password (nova-manage user password); "
                           "export OS_PASSWORD yourself")
        else:
            os_password = f'export OS_PASSWORD="{record["secret_key"]}"'
        pair = self.project_ec2_credentials(user, project)
        template = _RC_TEMPLATE + (_RC_OSAPI if osapi_served() else "")
        if FLAGS.credentials_template:
            with open(FLAGS.credentials_template) as source:
                template = source.read()
        return template.format(
            user=user, project=project, rcfile=rcfile,
            access=pair["access_key"], secret=pair["secret_key"],
            user_access=record["access_key"], user_secret=record["secret_key"],
            ec2_url=ec2_url(), s3_url=s3_url(), nova_url=catalog.compute_url(), region=FLAGS.region_name,
            auth_url=catalog.identity_url(), os_password=os_password,
        )

    def get_credentials(self, user: str, project: str) -> bytes:
        """A zip holding the novarc, as ``nova-manage project zipfile`` writes it."""
        rc = self.get_environment_rc(user, project, FLAGS.credential_rc_file)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(FLAGS.credential_rc_file, rc)
        return buffer.getvalue()


def _check_name(name: str, kind: str) -> None:
    if not name or len(name) > 255 or any(c in name for c in ":/\\\0") or name.strip() != name:
        raise exception.InvalidInput(reason=f"bad {kind} name {name!r}")
