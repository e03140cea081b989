"""The configuration as TOML (models.config.config_file, `patrondesk config export|import`): a round
trip changes nothing, a file carries one organization's configuration to another, and a file
with any mistake changes nothing at all and lists every mistake."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.audit import Actor
from models.config.config_file import ConfigFileError, export_config, import_config, toml_string
from models.config.configuration import add_organization, list_entries
from models.config.settings import load_settings, set_setting
from models.enums import Source
from models.store.tables import AuditEvent, FeeType, Organization, Setting, UserGroup
from tests.helpers.details import admin, events_after, last_event_id

SYSTEM = Actor(None, Source.CLI)


def body(text: str) -> str:
    """The file without its comment header and [organization] table."""
    lines = [line for line in text.splitlines() if not line.startswith("# PatronDesk")]
    lines = [line for line in lines if not line.startswith("# Exported")]
    start = lines.index("[settings]")
    return "\n".join(lines[start:])


def snapshot(organization_id: int) -> dict:
    from models.config.config_file import TABLE_ORDER

    return {
        key: [e.values for e in list_entries(key, organization_id, SYSTEM)] for key in TABLE_ORDER
    }


@given(st.text(max_size=40))
def test_any_text_survives_the_toml_writer(text: str) -> None:
    assert tomllib.loads(f"v = {toml_string(text)}\n") == {"v": text}


def test_a_regex_is_written_readably() -> None:
    assert toml_string(r"^\d{7}$") == r"'^\d{7}$'"
    assert toml_string('say "hi"\n') == r'"say \"hi\"\n"'


def test_export_then_import_changes_nothing(db) -> None:
    org = db.organization.id
    set_setting("smtp_password", "s3cret")
    text = export_config(org)
    data = tomllib.loads(text)
    assert data["organization"] == {"code": "MAIN", "name": "Main organization"}
    assert "smtp_password" not in data["settings"], "secrets never leave the database"
    assert {"code": "ILL", "name": "x"} not in data["block_definitions"]
    overdue = next(f for f in data["fee_types"] if f["code"] == "OVERDUE")
    assert overdue["daily_rate"] == "0.50" and overdue["library"] == ""
    last = last_event_id()
    report = import_config(text, org)
    assert report.settings_changed == [] and not report.added and not report.changed
    assert events_after(last) == []
    assert load_settings().smtp_password == "s3cret"


def test_a_configuration_is_carried_to_another_organization(db) -> None:
    org = db.organization.id
    from models.config.configuration import add_entry, update_entry

    add_entry(
        "libraries", org, {"code": "BR", "name": "Branch", "email": "br@x.example"}, admin(db)
    )
    add_entry(
        "user_groups",
        org,
        {"code": "VISIT", "name": "Visitor", "record_types": ["researcher"]},
        admin(db),
    )
    fee = FeeType.get((FeeType.code == "OVERDUE") & (FeeType.organization == org))
    update_entry("fee_types", org, fee.id, {"library": "BR", "daily_rate": "0.75"}, admin(db))
    add_entry(
        "stat_categories",
        org,
        {"category_type": "RESIDENCE", "code": "TOURIST", "name": "Tourist"},
        admin(db),
    )
    add_entry(
        "role_rules",
        org,
        {"user_group": "VISIT", "role": "fulfillment_services_operator"},
        admin(db),
    )
    text = export_config(org)
    other = add_organization("OTHER", "Other organization")
    report = import_config(text, other.id)
    assert report.added == {
        "libraries": 1,
        "user_groups": 1,
        "stat_categories": 1,
        "role_rules": 1,
    }
    assert report.changed == {"fee_types": 1}
    assert "the file is MAIN's" in " ".join(report.remarks)
    assert Organization.get_by_id(other.id).name == "Other organization"
    assert snapshot(other.id) == snapshot(org)
    assert body(export_config(other.id)) == body(text)


def test_a_file_with_any_mistake_changes_nothing_and_lists_every_mistake(db) -> None:
    org = db.organization.id
    text = export_config(org)
    text = text.replace("lockout_attempts = 5", "lockout_attempts = 0")
    text = text.replace('name = "Alumni"', 'name = "Graduate student"')  # a name taken
    text += '\n[[note_types]]\ncode = "NEW"\nname = "New note type"\n'
    text += '\n[[role_rules]]\njob_category = "NOWHERE"\nrole = "user_manager"\n'
    text += '\n[[campuses]]\ncode = "MAIN"\nname = "Twice"\n'
    events, settings = AuditEvent.select().count(), list(Setting.select().tuples())
    with pytest.raises(ConfigFileError) as err:
        import_config(text, org)
    assert err.value.problems == [
        "settings: lockout attempts must be at least 1",
        "user_groups 'ALUMNI': name another user group has this name",
        "campuses 'MAIN': appears twice in the file",
        "role_rules[2] (NOWHERE -> user_manager): job category is not a job category of this "
        "organization",
    ]
    assert err.value.message.startswith("nothing imported: settings: lockout attempts")
    assert AuditEvent.select().count() == events
    assert list(Setting.select().tuples()) == settings
    assert not UserGroup.select().where(UserGroup.name == "Graduate student").count() > 1
    from models.store.tables import NoteType

    assert not NoteType.select().where(NoteType.code == "NEW").exists(), "nothing was kept"


def test_entries_match_by_code_and_missing_ones_are_kept(db) -> None:
    org = db.organization.id
    text = (
        'format = 1\n[organization]\ncode = "main"\nname = "City libraries"\n'
        '[[user_groups]]\ncode = "alumni"\nname = "Former students"\nactive = false\n'
    )
    report = import_config(text, org)
    assert report.changed == {"organization": 1, "user_groups": 1}
    group = UserGroup.get((UserGroup.code == "ALUMNI") & (UserGroup.organization == org))
    assert (group.name, group.active, group.record_types) == ("Former students", False, "public")
    assert UserGroup.select().where(UserGroup.organization == org).count() == 8
    assert Organization.get_by_id(org).name == "City libraries"


def test_id_next_never_moves_back(db) -> None:
    set_setting("id_next", 500)
    report = import_config(
        'format = 1\n[settings]\nid_next = 12\nid_prefix = "R"\n', db.organization.id
    )
    assert load_settings().id_next == 500 and load_settings().id_prefix == "R"
    assert "id_next kept at 500" in report.remarks[0]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("format = 1\n[settings\n", "not a valid TOML file"),
        ("format = 2\n", "format: must be 1"),
        ("format = 1\ncolour = 'red'\n", "colour: is not a part of a configuration file"),
        ("format = 1\nuser_groups = 3\n", "user_groups: must be a list of tables"),
        ("format = 1\n[settings]\nwizard = true\n", "settings: wizard is not a known setting"),
        (
            "format = 1\n[[campuses]]\ncode = 'X'\nname = 'X'\ndescription = 3\n",
            "campuses 'X': description must be text",
        ),
        (
            "format = 1\n[[campuses]]\ncode = 'X'\nname = 'X'\nactive = 'maybe'\n",
            "campuses 'X': active must be true or false",
        ),
        (
            "format = 1\n[[fee_types]]\ncode = 'X'\nname = 'X'\nlibrary = 99999999999999999999\n",
            "fee_types 'X': library must be text",
        ),
        (
            "format = 1\n[[campuses]]\ncode = 'X'\nname = 'X'\nsize = 3\n",
            "campuses 'X': size is not a field of a campus",
        ),
    ],
)
def test_a_wrong_file_is_refused_in_words(db, text: str, problem: str) -> None:
    with pytest.raises(ConfigFileError) as err:
        import_config(text, db.organization.id)
    assert problem in err.value.message


def test_the_command_line_exports_and_imports(db, tmp_path, capsys) -> None:
    from tui.cli import main

    path = tmp_path / "config.toml"
    assert main(["--db", db.url, "config", "export", str(path)]) == 0
    assert "format = 1" in path.read_text(encoding="utf-8")
    assert f"Exported the configuration of MAIN to {path}" in capsys.readouterr().out
    path.write_text(path.read_text().replace("lockout_minutes = 30", "lockout_minutes = 45"))
    assert main(["--db", db.url, "config", "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "settings changed: lockout_minutes" in out
    path.write_text(path.read_text().replace("lockout_minutes = 45", "lockout_minutes = -1"))
    assert main(["--db", db.url, "config", "import", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("patrondesk: error: nothing imported: settings: lockout minutes")
    assert main(["--db", db.url, "config", "import", str(tmp_path / "missing.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["--db", db.url, "config", "export", str(path), "--organization", "NOPE"]) == 2
    assert "No organization has the code 'NOPE'" in capsys.readouterr().err
