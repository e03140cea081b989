"""Which format a file is in, from its name and its first bytes (`patrondesk import` without
--format)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from models.transfer import jsonstream
from models.transfer.formats.common import ENCODING, FormatError
from models.transfer.formats.readers import _UTF16_BOMS, _undecodable, _xml_root_tag

# --- Detection ----------------------------------------------------------------------------------


def detect(path: Path) -> str:
    """The format of a file from its content (the extension is only a hint)."""
    try:
        with open(path, "rb") as f:
            head = f.read(65536)
    except OSError as exc:
        raise FormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    codec = "utf-16" if head.startswith(_UTF16_BOMS) else "utf-8"
    text = head.decode(codec, errors="replace").lstrip("\ufeff \t\r\n")
    if not text:
        raise FormatError(f"{path.name} is empty")
    if text.startswith("<"):
        return _detect_xml(path)
    if text[0] in "[{":
        return _detect_json(path)
    if text.startswith("---") or re.match(r"^#.*\n", text) and "\n---" in text[:2000]:
        raise FormatError(
            f"{path.name} is YAML, which patrondesk does not import (for Koha's "
            "sample_patrons.yml, import the CSV export of the same rows: koha/patrons.csv)"
        )
    first = text.splitlines()[0].lower()
    names = {c.strip().strip('"') for c in re.split(r"[,;\t]", first)}
    if {"cardnumber", "surname"} <= names:
        return "koha-csv"
    if {"primary_id", "last_name"} <= names:
        return "csv"
    raise FormatError(
        f"{path.name}: cannot tell the format (a CSV file needs a header row with primary_id and "
        "last_name, or Koha's cardnumber and surname): give --format"
    )


def _detect_xml(path: Path) -> str:
    root = _xml_root_tag(path)
    if root in ("user", "users", "userRecords"):
        return "alma-xml"
    if root == "schema":
        raise FormatError(f"{path.name} is an XML schema, not user records")
    raise FormatError(
        f"{path.name}: an XML root <{root}> is not user records (Alma's <user>, <users> or "
        "<userRecords>)"
    )


def _first_json(path: Path) -> tuple[dict, Any]:
    """The top-level members read before the first item, and the first item (or None)."""
    members: dict = {}
    try:
        with open(path, encoding=ENCODING) as f:
            for kind, key, value in jsonstream.events(f, ("users", "user")):
                if kind == "item":
                    return members, value
                if kind == "value":
                    return {}, value
                members[key] = value
    except jsonstream.JsonStreamError as exc:
        raise FormatError(f"{path.name} is not valid JSON: {exc}") from None
    except UnicodeDecodeError:
        bad = _undecodable(path, ENCODING)
        where = f" (line {bad[0]}: byte 0x{bad[1]:02x})" if bad else ""
        raise FormatError(f"{path.name} is not UTF-8 text{where}: JSON files are UTF-8") from None
    return members, None


def _detect_json(path: Path) -> str:
    members, first = _first_json(path)
    if members.get("format") == "patrondesk":
        return "json"
    if first is None and members and "users" not in members and "user" not in members:
        first = members  # a single user object
    if isinstance(first, dict):
        if "personal" in first or "patronGroup" in first:
            return "folio-json"
        if "primary_id" in first:
            return "alma-json"
        if "pid" in first and ("roles" in first or "patron" in first):
            return "rero-json"
    if "item_loan" in members or isinstance(first, dict) and "loan_id" in first:
        return "alma-loans"
    if "fee" in members or "original_amount" in (first or {}):
        return "alma-fees"
    if isinstance(first, dict) and "pid" in first and ("organisation" in first or "code" in first):
        kind = "patron types"
        if "organisation" not in first:
            kind = "organisations"
        elif "code" in first:
            kind = "libraries"
        raise FormatError(f"{path.name} holds RERO reference data ({kind}), not users")
    if first is None and ("users" in members or "user" in members):
        raise FormatError(f"{path.name} holds no user records")
    raise FormatError(f"{path.name}: cannot tell which JSON format this is: give --format")
