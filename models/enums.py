"""The fixed vocabularies of the domain (domain.md). Stored as their string values."""

from __future__ import annotations

from enum import StrEnum


class AccountType(StrEnum):
    INTERNAL = "internal"
    EXTERNAL = "external"
    INTERNAL_EXTERNAL_AUTH = "internal_external_auth"


class RecordType(StrEnum):
    STAFF = "staff"
    PUBLIC = "public"
    CONTACT = "contact"
    ORGANIZATION = "organization"  # Esploro
    RESEARCHER = "researcher"  # Esploro: non-affiliated researcher


class Status(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class Channel(StrEnum):
    EMAIL = "email"
    MAIL = "mail"


class Role(StrEnum):
    USER_ADMINISTRATOR = "user_administrator"
    USER_MANAGER = "user_manager"
    CIRCULATION_DESK_MANAGER = "circulation_desk_manager"
    CIRCULATION_DESK_OPERATOR = "circulation_desk_operator"
    FULFILLMENT_SERVICES_OPERATOR = "fulfillment_services_operator"
    PATRON = "patron"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").title()


# Contact information types. Those marked "contact only" are a vendor contact's (Alma); which
# record type may use which is in models.users.contact_types.
class EmailType(StrEnum):
    PERSONAL = "personal"
    WORK = "work"
    SCHOOL = "school"
    ALTERNATIVE = "alternative"
    CC = "cc"
    CLAIM = "claim"  # contact only
    ORDER = "order"  # contact only
    PAYMENT = "payment"  # contact only
    RETURNS = "returns"  # contact only


class AddressType(StrEnum):
    HOME = "home"
    WORK = "work"
    SCHOOL = "school"
    ALTERNATIVE = "alternative"
    CLAIM = "claim"  # contact only
    ORDER = "order"  # contact only
    PAYMENT = "payment"  # contact only
    RETURNS = "returns"  # contact only


class PhoneType(StrEnum):
    HOME = "home"
    MOBILE = "mobile"
    OFFICE = "office"
    OFFICE_FAX = "office_fax"
    CLAIM_FAX = "claim_fax"  # contact only
    CLAIM_PHONE = "claim_phone"  # contact only
    ORDER_FAX = "order_fax"  # contact only
    PAYMENT_FAX = "payment_fax"  # contact only
    PAYMENT_PHONE = "payment_phone"  # contact only
    RETURNS_FAX = "returns_fax"  # contact only
    RETURNS_PHONE = "returns_phone"  # contact only


class FeeStatus(StrEnum):
    ACTIVE = "active"
    DISPUTED = "disputed"
    WAIVED = "waived"
    TRANSFERRED = "transferred"
    CLOSED = "closed"  # paid in full


class FeeAction(StrEnum):
    CREATE = "create"
    CREDIT = "credit"
    PAY = "pay"
    WAIVE = "waive"
    DISPUTE = "dispute"
    RESTORE = "restore"
    TRANSFER = "transfer"
    LINK = "link"  # linked to an item barcode (amount 0)


class Source(StrEnum):
    """Through what a change came: shown in History."""

    SCREEN = "screen"
    CLI = "cli"
    IMPORT = "import"
    JOB = "job"


class AuditAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    LOGIN_SUCCESS = "login_success"
    LOGIN_FAILURE = "login_failure"
    LOCKOUT = "lockout"
    EXPORT = "export"  # users written to a file: who, what, how many, where
    MERGE = "merge"  # two accounts merged into one (models/users/merge.py), on both histories


class LetterStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a sender (models.mail.mailer)
    SENT = "sent"
    FAILED = "failed"


class LetterKind(StrEnum):
    GENERAL = "general"
    PERSONAL_INFORMATION = "personal_information"
    PASSWORD_RESET = "password_reset"
    DELETION_NOTICE = "deletion_notice"
    EXPIRY_REMINDER = "expiry_reminder"
    PIN = "pin"  # the new PIN, when staff set or generate one (Alma: PIN Number Generation Letter)
