"""Any command line gives either a result or one clear error line with exit code 2: never a
traceback. Hypothesis builds argument lists from real options and arbitrary text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui import cli

COMMANDS = ["init", "demo", "migrate", "audit", "backup", "restore", "import", "export", "purge",
            "letters", "config", "organization", "bogus", ""]  # fmt: skip
OPTIONS = ["--admin", "--password-stdin", "--users", "--seed", "--status", "--organization",
           "--library", "--help", "--version", "-h", "--db", "prune", "--dry-run", "send",
           "expiry", "--days", "export", "import", "add", "--format", "csv", "json"]  # fmt: skip
texts = st.text(max_size=40)
numbers = st.integers(min_value=-5, max_value=3).map(str)
tokens = st.one_of(st.sampled_from(OPTIONS), texts, numbers)
CASES = 200


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch, tmp_path) -> None:
    """Commands that would prompt get a closed standard input instead, and any file a fuzzed
    command names (a backup DEST, say) is made in the test's own folder."""
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.chdir(tmp_path)


@settings(
    max_examples=CASES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(command=st.sampled_from(COMMANDS), rest=st.lists(tokens, max_size=5))
def test_no_command_line_gives_a_traceback(tmp_path, capsys, command, rest) -> None:
    argv = ["--db", str(tmp_path / "fuzz.db")]
    if command:
        argv.append(command)
    argv += [t for t in rest if t != "--db"]  # the database stays in the test's folder
    if not command and not any(t in ("--help", "-h", "--version") for t in rest):
        argv.append("bogus")  # never open the interactive app
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # --help and --version exit 0 through argparse
        code = exc.code
    out = capsys.readouterr()
    assert code in (0, 2), (argv, out.err)
    assert "Traceback" not in out.err
    if code == 2:
        lines = [line for line in out.err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("patrondesk: error:"), (argv, out.err)
