"""nova-manage's command line: flags anywhere, negative numbers as values."""

from nova import log
from nova.cmd import manage


def test_a_negative_number_is_a_value_not_a_flag(tmp_path, monkeypatch):
    monkeypatch.setattr(log, "setup", lambda binary: None)
    flagfile = tmp_path / "nova.conf"
    flagfile.write_text("")
    args = manage.parse_command_line(["nova-manage", f"--flagfile={flagfile}", "project", "quota", "P",
                                      "instances", "-1"])
    assert args == ["project", "quota", "P", "instances", "-1"]
    assert manage._int_arg(args[-1], "instances") == -1


def test_db_sync_takes_its_version_as_an_option(tmp_path, monkeypatch):
    monkeypatch.setattr(log, "setup", lambda binary: None)
    flagfile = tmp_path / "nova.conf"
    flagfile.write_text("")
    for given in (["db", "sync", "--version", "5"], ["db", "sync", "--version=5"], ["db", "sync", "5"]):
        assert manage.parse_command_line(["nova-manage", f"--flagfile={flagfile}", *given]) == ["db", "sync", "5"]
