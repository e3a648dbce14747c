"""nova.flags: flagfiles, precedence, expansion and one-line errors."""

import os
import subprocess
import sys

import pytest

from nova import flags

FLAGS = flags.FLAGS
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _parse(*argv):
    return flags.parse_args(["nova-test", *argv], use_default_flagfile=False)


def test_flagfile_values_and_nested_flagfiles(tmp_path):
    inner = tmp_path / "inner.conf"
    inner.write_text("--report_interval=3\n")
    outer = tmp_path / "nova.conf"
    outer.write_text(f"# a comment\n--host=node7\n--flagfile={inner}\n--verbose\n")
    rest = _parse(f"--flagfile={outer}", "positional")
    assert FLAGS.host == "node7"
    assert FLAGS.report_interval == 3
    assert FLAGS.verbose is True
    assert rest == ["nova-test", "positional"]


def test_command_line_wins_over_flagfile_wherever_it_appears(tmp_path):
    conf = tmp_path / "nova.conf"
    conf.write_text("--host=from-file\n--ec2_port=9000\n")
    _parse("--host=from-cli", f"--flagfile={conf}")
    assert FLAGS.host == "from-cli"
    assert FLAGS.ec2_port == 9000


def test_dollar_references_expand_to_other_flags(tmp_path):
    _parse(f"--state_path={tmp_path}")
    assert FLAGS.sql_connection == f"sqlite:///{tmp_path}/nova.sqlite"
    _parse("--my_ip=10.1.2.3")
    assert FLAGS.ec2_dmz_host == "10.1.2.3"


def test_unknown_flag_is_one_line_naming_it():
    with pytest.raises(flags.FlagError) as info:
        _parse("--rabit_host=x")
    message = str(info.value)
    assert "--rabit_host" in message and "\n" not in message
    assert "rabbit_host" in message.split("did you mean")[-1]


def test_bad_value_is_one_line_naming_the_flag():
    with pytest.raises(flags.FlagError) as info:
        _parse("--report_interval=often")
    assert "report_interval" in str(info.value) and "\n" not in str(info.value)


def test_out_of_range_value_is_refused():
    with pytest.raises(flags.FlagError) as info:
        _parse("--report_interval=0")
    assert "report_interval" in str(info.value)


def test_missing_flagfile_is_one_line():
    with pytest.raises(flags.FlagError) as info:
        _parse("--flagfile=/nonexistent/nova.conf")
    assert "/nonexistent/nova.conf" in str(info.value) and "\n" not in str(info.value)


def test_default_flagfile_from_environment(tmp_path, monkeypatch):
    conf = tmp_path / "nova.conf"
    conf.write_text("--host=envhost\n")
    monkeypatch.setenv("NOVA_FLAGFILE", str(conf))
    flags.parse_args(["nova-test"])
    assert FLAGS.host == "envhost"


def test_every_binary_knows_every_flag_and_help_lists_them():
    # A flag of the network manager is accepted by nova-compute's parser and listed in --help.
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "nova-compute"), "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for name in ("--network_manager", "--sql_connection", "--rabbit_host", "--report_interval", "--quota_cores"):
        assert name in out.stdout


def test_nova_conf_sample_documents_every_flag():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        import gen_flagfile_sample
    finally:
        sys.path.pop(0)
    with open(gen_flagfile_sample.sample_path()) as handle:
        committed = handle.read()
    assert committed == gen_flagfile_sample.render(), "run tools/gen_flagfile_sample.py"


def test_flag_registry_lists_every_flag():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        import gen_flagfile_sample
    finally:
        sys.path.pop(0)
    with open(gen_flagfile_sample.registry_path()) as handle:
        committed = handle.read()
    assert committed == gen_flagfile_sample.render_registry(), "run tools/gen_flagfile_sample.py"


def test_binaries_know_every_flag_without_importing_its_module(tmp_path):
    # The registry defines --network_manager's flags; nova.network.manager itself is not imported.
    code = ("import sys; from nova import flags; flags.parse_args(['x', '--network_size=8', '--quota_cores=3'], "
            "use_default_flagfile=False); print(flags.FLAGS.network_size, flags.FLAGS.quota_cores, "
            "'nova.network.manager' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.stdout.split() == ["8", "3", "False"], out.stderr
