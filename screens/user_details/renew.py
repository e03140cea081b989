"""Renew (issue 22, item 1): User Details' action that extends the registration by the user
group's period (`models.users.details.renew_registration`), on its key (`details.renew`) and in
the actions of ctrl+a. A mixin of `UserDetailsScreen`."""

from __future__ import annotations

from models.errors import PatronDeskError, ValidationError
from models.users.details import general_form, renew_registration, renewal_date
from screens.confirm import ConfirmScreen
from screens.user_details.general import LABELS, GeneralPane
from tui.worker import run_service


class RenewAction:
    """`action_renew` for User Details: what it would give is read in a worker (refused at
    once without the right to edit the user, or on an external account's SIS date unless
    opened for update) and asked about, then saved in a worker at the version the screen read.
    The head, the General tab and History show the new date."""

    def action_renew(self) -> None:
        if self.ctx is None or self._acting:
            return
        general = self.query(GeneralPane)
        pane = general.first() if general else None
        if pane is not None and pane.dirty:
            self.notify(
                "Save or discard the General tab's changes first: Renew changes the "
                "expiration date.",
                severity="warning",
                timeout=8,
            )
            return
        ctx, actor, account_id = self.ctx, self.app.session.actor, self.account_id
        name = self.profile.name if self.profile is not None else ""
        opened = pane.opened if pane is not None else False

        def renew() -> tuple[int, object]:
            account = renew_registration(account_id, ctx.version, actor, opened=opened)
            return account.version, general_form(account_id, actor, opened=opened)

        def renewed(answer: tuple[int, object]) -> None:
            self._acting = False
            version, form = answer
            ctx.version = version
            if self.ctx is not ctx:  # another user is shown since
                return
            if pane is not None:
                pane.renewed(version, form)
            self.notify(f"Registration renewed: expires {form.values['expiry_date']}.")
            self.refresh_head()

        def refused(exc: PatronDeskError) -> None:
            self._acting = False
            message = exc.message
            if isinstance(exc, ValidationError):
                message = "Not renewed: " + "; ".join(
                    f"{LABELS.get(f, f)} {m}" for f, m in exc.errors.items()
                )
            self.notify(message, severity="error", timeout=10)

        def answer(yes: bool | None) -> None:
            if yes and self.ctx is ctx and not self._acting:
                self._acting = True
                run_service(self, renew, on_ok=renewed, on_error=refused, group="details-action")

        def ask(day) -> None:  # noqa: ANN001 - a date
            self._acting = False
            if self.ctx is ctx:
                question = f"Renew the registration of {name} until {day.isoformat()}?"
                self.app.push_screen(ConfirmScreen(question, yes="Renew"), answer)

        self._acting = True
        run_service(
            self,
            lambda: renewal_date(account_id, actor, opened=opened),
            on_ok=ask,
            on_error=refused,
            group="details-action",
        )
