"""A screen that closes with the answer of one of its workers (`tui.worker.run_service`)."""

from __future__ import annotations

from textual.worker import Worker, WorkerState


class ClosesAfterWorker:
    """Mixed into a screen that closes with the answer of one of its workers: it closes once
    that worker has ended. Closing it from the worker's answer (`on_ok`, which runs while the
    worker waits for it) would cancel the worker with its screen."""

    _close_with: tuple[str, object] | None = None  # (the worker's group, the result)

    def dismiss_after_worker(self, group: str, result: object) -> None:
        """Dismiss with `result` when the running worker of `group` has ended."""
        self._close_with = (group, result)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        pending = self._close_with
        if pending is None or event.worker.group != pending[0]:
            return
        if event.state in (WorkerState.SUCCESS, WorkerState.CANCELLED, WorkerState.ERROR):
            self._close_with = None
            self.dismiss(pending[1])  # type: ignore[attr-defined] - a Screen's
