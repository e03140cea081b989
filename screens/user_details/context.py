"""What the tabs of one open user record share: which account, who acts, and the account
version the next save must carry (optimistic locking, `models.details`)."""

from __future__ import annotations

from dataclasses import dataclass

from models.audit import Actor


@dataclass
class RecordContext:
    account_id: int
    actor: Actor
    organization_id: int
    version: int
