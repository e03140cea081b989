"""The website is a web address (issue 22, item 13; Alma's "Website URL"): http:// or https://
and a host, no spaces or control characters. A new user and the General tab are refused with
the message at the field; an import leaves a wrong one out with a warning (the field's
`on_import`), and a file's good one is loaded. Both back ends through `db`."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.config.settings import load_settings
from models.errors import ValidationError
from models.runtime import runtime
from models.store.tables import Account
from models.transfer.imports import ImportOptions, import_file
from models.users.accounts import NewUser, create_user
from models.users.check import Context, check_record
from models.users.details import update_user
from models.users.fields import BY_NAME, EDIT, IMPORT, LEAVE_OUT, NEW
from models.users.validation import FieldError, check_url
from tests.helpers.details import admin, fresh, future, user

GOOD = (
    "https://www.example.org/~anna?lang=de#top",
    "HTTP://Example.org:8080/",
    "http://intranet/staff/anna",
    "https://bücher.example/",
    "http://192.168.10.4/",
    "http://[2001:db8::1]/",
)
BAD = {
    "www.example.org": "must start with http:// or https://",
    "javascript:alert(1)": "must start with http:// or https://",
    "ftp://files.example.org": "must start with http:// or https://",
    "https:/example.org": "must start with http:// or https://",
    "https://": "needs a host name after http:// or https://",
    "https:///path": "needs a host name after http:// or https://",
    "https://exa mple.org": "must not contain spaces",
    "https://example.org/\x1b[2J": "must not contain control characters (found U+001B)",
    "https://bank.example@evil.example/": "must not hold a user name or password before the host",
    "http://example.org\\@evil.example": "must not contain backslashes",
    "http://-bad-.example/": "has a host name that is not valid",
    "http://a..example/": "has a host name that is not valid",
    "http://999.1.1.1/": "has a host that is not an IPv4 address",
    "http://example.org:99999/": "has a port or a host that is not valid",
}


@pytest.mark.parametrize("value", GOOD)
def test_a_web_address_is_kept_as_typed(value: str) -> None:
    assert check_url(f"  {value} ") == value


@pytest.mark.parametrize(("value", "message"), BAD.items())
def test_what_is_not_a_web_address_is_refused_with_its_reason(value: str, message: str) -> None:
    with pytest.raises(FieldError) as err:
        check_url(value)
    assert str(err.value) == message


def test_the_field_is_entered_everywhere_and_left_out_of_an_import_when_wrong() -> None:
    field = BY_NAME["website"]
    assert {NEW, EDIT, IMPORT} <= field.modes
    assert field.on_import == LEAVE_OUT


def _new(**changes) -> NewUser:
    values = dict(
        first_name="Anna",
        last_name="Müller",
        primary_id="P0001",
        user_group="PUBLIC",
        email="p0001@example.org",
        expiry_date=future(),
    )
    return NewUser(**{**values, **changes})


def test_a_new_user_with_a_wrong_website_is_refused_at_the_field(db) -> None:
    with pytest.raises(ValidationError) as err:
        create_user(_new(website="www.example.org"), admin(db), db.organization)
    assert err.value.errors == {"website": "must start with http:// or https://"}
    assert not Account.select().where(Account.primary_id == "P0001").exists()
    account = create_user(_new(website="https://anna.example.org/"), admin(db), db.organization)
    assert account.person.website == "https://anna.example.org/"


def test_the_general_tab_refuses_a_wrong_website_and_saves_a_good_one(db) -> None:
    anna = user(db)
    for value, message in (
        ("javascript:alert(1)", "must start with http:// or https://"),
        ("https://x.example/a b", "must not contain spaces"),
    ):
        with pytest.raises(ValidationError) as err:
            update_user(anna.id, fresh(anna).version, {"website": value}, admin(db))
        assert err.value.errors == {"website": message}
    assert fresh(anna).person.website == ""
    update_user(anna.id, fresh(anna).version, {"website": " https://anna.example/ "}, admin(db))
    assert fresh(anna).person.website == "https://anna.example/"
    update_user(anna.id, fresh(anna).version, {"website": ""}, admin(db))
    assert fresh(anna).person.website == ""


def test_an_import_leaves_a_wrong_website_out_with_a_warning(db) -> None:
    context = Context(load_settings(), runtime.today())
    record = {"primary_id": "I1", "last_name": "Imported", "website": "www.example.org"}
    checked = check_record(record, context, IMPORT)
    assert not checked.errors and "website" not in checked.values
    assert checked.warnings == [("website", "must start with http:// or https://: left out")]
    good = check_record({**record, "website": "https://i1.example"}, context, IMPORT)
    assert good.values["website"] == "https://i1.example" and not good.warnings


def test_a_file_loads_the_good_website_and_warns_of_the_wrong_one(db, tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(
        "primary_id,last_name,website\n"
        "W1,Good,https://w1.example.org/\n"
        "W2,Wrong,javascript:alert(1)\n",
        encoding="utf-8",
    )
    report = import_file(path, ImportOptions(workers=1))
    assert report.created == 2
    warned = [(i.primary_id, i.field, i.message) for i in report.issues if i.level == "warning"]
    assert ("W2", "website", "must start with http:// or https://: left out") in warned
    people = {a.primary_id: a.person.website for a in Account.select()}
    assert (people["W1"], people["W2"]) == ("https://w1.example.org/", "")
