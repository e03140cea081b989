"""`patrondesk set ...` and `patrondesk job ...` (issue 23), run in-process on both back ends:
a set from a search and from a file, an update previewed then run (History source job), undo,
notify, delete skipping a member with a balance, and the progress lines on stderr."""

from __future__ import annotations

from pathlib import Path

from models.audit import Actor
from models.enums import Source
from models.fees.fees import add_fee
from models.store.tables import Account, AuditEvent, Job, Letter, UserGroup
from tests.helpers.ui import add_user
from tui.cli import main


def _cli(db, *args: str) -> int:  # noqa: ANN001
    return main(["--db", db.url, *args])


def test_set_create_update_dry_run_run_show_and_undo(db, capsys) -> None:
    a = add_user("Anna", "Zanetti", "P1")
    b = add_user("Ben", "Zanetti", "P2")
    add_user("Cleo", "Other", "P3")
    assert _cli(db, "set", "create", "Zanettis", "--search", "zanetti",
                "--filter", "status=active") == 0  # fmt: skip
    assert "created" in capsys.readouterr().out
    assert _cli(db, "set", "list") == 0
    assert "Zanettis" in capsys.readouterr().out
    before = AuditEvent.select().count()
    assert _cli(db, "job", "update", "Zanettis", "--set", "user_group=GRAD", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "2 members; would change 2" in out and "PUBLIC -> GRAD" in out
    assert AuditEvent.select().count() == before and Job.select().count() == 0
    assert _cli(db, "job", "update", "Zanettis", "--set", "user_group=GRAD",
                "--set", "expiry=+30d") == 0  # fmt: skip
    captured = capsys.readouterr()
    assert "changed 2" in captured.out
    assert "rows/s" in captured.err and "ETA" in captured.err
    grad = UserGroup.get(UserGroup.code == "GRAD").id
    assert {x.user_group_id for x in Account.select().where(Account.id.in_([a.id, b.id]))} == {grad}
    job = Job.get()
    assert {e.source for e in AuditEvent.select().where(AuditEvent.job_id == job.id)} == {"job"}
    assert _cli(db, "job", "list") == 0
    assert "user_group=GRAD  changed 2" in capsys.readouterr().out
    assert _cli(db, "job", "show", str(job.id)) == 0
    assert f"Job {job.id}" in capsys.readouterr().out
    assert _cli(db, "job", "undo", str(job.id)) == 0
    assert "changed 2" in capsys.readouterr().out
    assert Account.get_by_id(a.id).user_group_id != grad


def test_set_from_a_file_and_notify(db, capsys, tmp_path: Path) -> None:
    add_user("Anna", "Müller", "P1")
    ids = tmp_path / "ids.txt"
    ids.write_text("P1\nNOBODY\n")
    assert _cli(db, "set", "create", "Listed", "--file", str(ids)) == 0
    out = capsys.readouterr().out
    assert "1 member; 1 identifier unknown" in out and "unknown  NOBODY" in out
    body = tmp_path / "body.txt"
    body.write_text("The library closes on Friday.\n")
    assert _cli(db, "job", "notify", "Listed", "--letter", "general", "--subject", "Closing",
                "--body-file", str(body)) == 0  # fmt: skip
    assert "changed 1" in capsys.readouterr().out
    assert Letter.select().count() == 1


def test_job_delete_skips_a_member_with_a_balance(db, capsys, tmp_path: Path) -> None:
    add_user("Anna", "Müller", "P1")
    owing = add_user("Ben", "Owing", "P2")
    add_fee(owing.id, Actor(None, Source.CLI), fee_type="LOST_ITEM", amount="5.00")
    ids = tmp_path / "ids.txt"
    ids.write_text("P1\nP2\n")
    assert _cli(db, "set", "create", "Gone", "--file", str(ids)) == 0
    assert _cli(db, "job", "delete", "Gone", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "would delete 1" in out and "refused  P2" in out
    assert _cli(db, "job", "delete", "Gone") == 0
    out = capsys.readouterr().out
    assert "changed 1" in out and "skipped  P2" in out
    assert [x.primary_id for x in Account.select().where(Account.primary_id.in_(["P1", "P2"]))] == [
        "P2"
    ]


def test_wrong_input_is_one_line_and_exit_2(db, capsys) -> None:
    assert _cli(db, "job", "update", "Nope", "--set", "colour=blue") == 2
    err = capsys.readouterr().err
    assert err.startswith("patrondesk: error:") and err.count("\n") == 1
    assert _cli(db, "job", "update", "Nope", "--set", "user_group=GRAD") == 2
    assert "No set 'Nope'" in capsys.readouterr().err
    assert _cli(db, "set") == 2
    capsys.readouterr()


def test_a_fifo_or_a_device_given_as_a_file_is_refused_at_once(db, capsys, tmp_path: Path) -> None:
    """Attack: `set create --file` and `job notify --body-file` on a FIFO waited for ever for a
    writer, and on /dev/zero read until the memory ran out. Both are refused with the reason,
    as a file to attach is (`models.store.files.read_user_file`), nothing created."""
    import os
    import threading

    from models.store.tables import UserSet

    fifo = tmp_path / "ids.fifo"
    os.mkfifo(fifo)
    for args in (("set", "create", "Piped", "--file", str(fifo)),
                 ("set", "create", "Zeros", "--file", "/dev/zero")):  # fmt: skip
        codes: list[int] = []
        worker = threading.Thread(
            target=lambda a=args, out=codes: out.append(_cli(db, *a)), daemon=True
        )
        worker.start()
        worker.join(10)
        if worker.is_alive():  # unblock the reader, then fail
            with open(fifo, "w"):
                pass
            worker.join(5)
        assert codes and codes[0] != 0, f"{args[-1]}: not refused at once"
    assert UserSet.select().count() == 0
    err = capsys.readouterr().err
    assert "not a regular file" in err or "system file" in err


def test_job_update_adds_and_removes_rows(db, capsys) -> None:
    from models.store.tables import Block, Note, StatCategory, Statistic

    a = add_user("Anna", "Zanetti", "P1")
    assert _cli(db, "set", "create", "Z", "--search", "zanetti") == 0
    capsys.readouterr()
    assert _cli(db, "job", "update", "Z", "--add", "stat=HIST", "--add", "block=GENERAL",
                "--note", "Card checked", "--dry-run") == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "would change 1" in out and "statistic: - -> HIST" in out
    assert not Statistic.select().exists()
    assert _cli(db, "job", "update", "Z", "--add", "stat=HIST", "--add", "block=GENERAL",
                "--note", "Card checked") == 0  # fmt: skip
    assert "changed 1" in capsys.readouterr().out
    hist = StatCategory.get(StatCategory.code == "HIST").id
    assert Statistic.get(Statistic.account == a.id).category_id == hist
    assert Block.select().where(Block.account == a.id).count() == 1
    assert Note.get(Note.account == a.id).text == "Card checked"
    assert _cli(db, "job", "list") == 0
    assert "+statistic HIST, +block GENERAL, +note 'Card checked'" in capsys.readouterr().out
    assert _cli(db, "job", "update", "Z", "--remove", "note=x") == 2
    assert "remove" in capsys.readouterr().err
    assert _cli(db, "job", "update", "Z") == 2
    assert "say what to change" in capsys.readouterr().err
