"""AuthManager: users, projects, roles as the first Nova had them, and novarc."""

import io
import zipfile

import pytest

from nova import exception, flags
from nova.auth import manager

FLAGS = flags.FLAGS


@pytest.fixture
def auth(sqlite_db):
    return manager.AuthManager()


def test_user_with_given_keys_and_lookup_by_access_key(auth):
    auth.create_user("demo", "AK", "SK", admin=True)
    user = auth.get_user_from_access_key("AK")
    assert (user["id"], user["secret_key"], bool(user["is_admin"])) == ("demo", "SK", True)


def test_generated_keys_are_unique(auth):
    first, second = auth.create_user("a"), auth.create_user("b")
    assert first["access_key"] != second["access_key"]
    assert len(first["secret_key"]) >= 30


def test_duplicate_user_and_access_key_are_refused(auth):
    auth.create_user("demo", "AK", "SK")
    with pytest.raises(exception.UserExists):
        auth.create_user("demo")
    with pytest.raises(exception.AccessKeyExists):
        auth.create_user("other", "AK")


@pytest.mark.parametrize("name", ["", "a:b", "../x", " padded", "x" * 256])
def test_bad_names_are_refused(auth, name):
    with pytest.raises(exception.InvalidInput):
        auth.create_user(name)


def test_project_manager_is_member_and_projectmanager(auth):
    auth.create_user("boss")
    auth.create_user("dev")
    auth.create_project("proj", "boss")
    assert auth.is_project_member("boss", "proj")
    assert not auth.is_project_member("dev", "proj")
    assert auth.has_role("boss", "projectmanager", "proj")
    assert not auth.has_role("dev", "projectmanager", "proj")
    auth.add_to_project("dev", "proj")
    assert [p["id"] for p in auth.get_projects("dev")] == ["proj"]


def test_project_roles_need_global_role_too(auth):
    auth.create_user("boss")
    auth.create_user("dev")
    auth.create_project("proj", "boss", member_users=["dev"])
    auth.add_role("dev", "netadmin", "proj")
    assert not auth.has_role("dev", "netadmin", "proj")
    auth.add_role("dev", "netadmin")
    assert auth.has_role("dev", "netadmin", "proj")
    assert "netadmin" in auth.get_user_roles("dev", "proj")
    auth.remove_role("dev", "netadmin", "proj")
    assert not auth.has_role("dev", "netadmin", "proj")
    assert auth.has_role("dev", "netadmin")


def test_global_roles_hold_everywhere_and_cannot_be_project_roles(auth):
    auth.create_user("sec")
    auth.create_user("boss")
    auth.create_project("proj", "boss")
    auth.add_role("sec", "itsec")
    assert auth.has_role("sec", "itsec", "proj")
    with pytest.raises(exception.Invalid):
        auth.add_role("boss", "cloudadmin", "proj")


def test_unknown_role_and_non_member_project_role(auth):
    auth.create_user("boss")
    auth.create_user("outsider")
    auth.create_project("proj", "boss")
    with pytest.raises(exception.RoleNotFound):
        auth.add_role("boss", "emperor")
    with pytest.raises(exception.ProjectMembershipNotFound):
        auth.add_role("outsider", "developer", "proj")


def test_cannot_delete_a_user_who_manages_a_project(auth):
    auth.create_user("boss")
    auth.create_project("proj", "boss")
    with pytest.raises(exception.Invalid):
        auth.delete_user("boss")
    auth.delete_project("proj")
    auth.delete_user("boss")
    with pytest.raises(exception.UserNotFound):
        auth.get_user("boss")


def test_novarc_names_keys_and_urls(auth):
    flags.reset_for_tests(state_path=FLAGS.state_path, sql_connection=FLAGS.sql_connection, my_ip="10.9.8.7")
    auth.create_user("demo", "AK", "SK", admin=True)
    auth.create_project("proj", "demo")
    rc = auth.get_environment_rc("demo", "proj")
    [pair] = auth.get_ec2_credentials("demo", "proj")  # made for the novarc: the project's own pair
    assert f'export EC2_ACCESS_KEY="{pair["access_key"]}"' in rc
    assert f'export EC2_SECRET_KEY="{pair["secret_key"]}"' in rc
    assert 'export EC2_URL="http://10.9.8.7:8773/services/Cloud"' in rc
    assert 'export S3_URL="http://10.9.8.7:3333"' in rc
    assert f'export AWS_ACCESS_KEY_ID="{pair["access_key"]}"' in rc
    assert f'export AWS_SECRET_ACCESS_KEY="{pair["secret_key"]}"' in rc
    assert 'export NOVA_API_KEY="AK"' in rc  # the OpenStack v1.x handshake takes the user's own key
    assert 'export AWS_ENDPOINT_URL_EC2="http://10.9.8.7:8773/services/Cloud"' in rc
    assert 'export NOVA_URL="http://10.9.8.7:8774/v2.1"' in rc
    for line in ('export OS_AUTH_URL="http://10.9.8.7:5000/v3"', 'export OS_USERNAME="demo"',
                 'export OS_PASSWORD="SK"', 'export OS_PROJECT_NAME="proj"', 'export OS_USER_DOMAIN_NAME="Default"',
                 'export OS_PROJECT_DOMAIN_NAME="Default"', "export OS_IDENTITY_API_VERSION=3",
                 'export OS_REGION_NAME="nova"', "export OS_INTERFACE=public"):
        assert line in rc.splitlines()
    archive = zipfile.ZipFile(io.BytesIO(auth.get_credentials("demo", "proj")))
    assert archive.read("novarc").decode() == rc  # the same pair again, not a new one
    assert len(auth.get_ec2_credentials("demo")) == 1


def test_novarc_names_the_openstack_api_only_where_it_answers(auth):
    auth.create_user("demo", "AK", "SK", admin=True)
    auth.create_project("proj", "demo")
    flags.FLAGS.osapi_port = 0
    assert "NOVA_URL" not in auth.get_environment_rc("demo", "proj")
    flags.FLAGS.osapi_port = 8774
    assert 'export NOVA_URL="http://' in auth.get_environment_rc("demo", "proj")


def test_novarc_refused_for_non_member(auth):
    auth.create_user("boss")
    auth.create_user("outsider")
    auth.create_project("proj", "boss")
    with pytest.raises(exception.ProjectMembershipNotFound):
        auth.get_environment_rc("outsider", "proj")


def test_password_is_the_secret_key_until_one_is_set(auth):
    auth.create_user("demo", "AK", "SK")
    auth.create_project("proj", "demo")
    assert auth.check_password("demo", "SK") and not auth.has_password("demo")
    auth.set_password("demo", "s3cret")
    assert auth.check_password("demo", "s3cret") and not auth.check_password("demo", "SK")
    stored = auth.get_user("demo")["password_hash"]
    assert "s3cret" not in stored and stored.startswith("pbkdf2_sha256$")
    rc = auth.get_environment_rc("demo", "proj")
    assert "OS_PASSWORD=" not in rc.replace("# OS_PASSWORD", "")
    assert "# OS_PASSWORD is not written" in rc
    auth.set_password("demo", None)
    assert auth.check_password("demo", "SK")
    with pytest.raises(exception.InvalidInput):
        auth.set_password("demo", "")


def test_credentials_for_password_checks_the_password_before_the_project(auth):
    auth.create_user("demo", "AK", "SK")
    auth.create_user("other", "AK2", "SK2")
    auth.create_project("proj", "demo")
    auth.create_project("elsewhere", "other")
    assert auth.credentials_for_password("demo", "SK", "proj").project_id == "proj"
    with pytest.raises(exception.AuthenticationFailed):
        auth.credentials_for_password("demo", "wrong", "no-such-project")
    with pytest.raises(exception.ProjectMembershipNotFound):
        auth.credentials_for_password("demo", "SK", "elsewhere")
    with pytest.raises(exception.UserNotFound):
        auth.credentials_for_password("ghost", "SK", "proj")


def test_describe_token(auth):
    auth.create_user("demo", "AK", "SK")
    auth.create_project("proj", "demo")
    token = auth.create_token("demo", "proj", ttl=60)
    info = auth.describe_token(token)
    assert info.credentials.user_id == "demo"
    assert 59 <= (info.expires_at - info.issued_at).total_seconds() <= 61
