"""The garbage collector during a load (models/transfer/imports/collector.py)."""

from __future__ import annotations

import gc

from models.transfer.imports.collector import FULL_EVERY, load_collector


def test_full_collections_are_rarer_during_a_load_and_as_before_after() -> None:
    before = gc.get_threshold()
    gc.set_threshold(before[0], before[1], 10)
    try:
        with load_collector():
            assert gc.get_threshold() == (before[0], before[1], FULL_EVERY)
            with load_collector():  # a second load in the same process
                assert gc.get_threshold()[2] == FULL_EVERY
            assert gc.get_threshold()[2] == FULL_EVERY  # the first still runs
        assert gc.get_threshold() == (before[0], before[1], 10)
    finally:
        gc.set_threshold(*before)


def test_a_rarer_setting_of_the_process_is_kept() -> None:
    before = gc.get_threshold()
    gc.set_threshold(before[0], before[1], 500)  # as an app may have set it
    try:
        with load_collector():
            assert gc.get_threshold()[2] == 500
        assert gc.get_threshold()[2] == 500
    finally:
        gc.set_threshold(*before)


def test_a_rerun_of_unchanged_records_starts_no_checking_worker(db, tmp_path, monkeypatch) -> None:
    """A first load starts its checking worker as its first record is read; a rerun of the
    same source (most records unchanged) starts it only when a chunk has records to check:
    here none, so no process is started at all."""
    from models.transfer.imports import ImportOptions, import_file
    from models.transfer.imports.importer import Importer
    from tests.domain.test_bulk import csv_file

    asked: list[int] = []
    real = Importer._parallel

    def spy(self: Importer) -> bool:
        asked.append(self.report.rows)
        return real(self)

    monkeypatch.setattr(Importer, "_parallel", spy)
    path = csv_file(tmp_path, 30)
    options = dict(external=True, source="SIS", parallel=True, chunk_size=10)
    first = import_file(path, ImportOptions(**options))
    assert first.created == 30 and asked[0] == 1  # at the first record, before any chunk
    asked.clear()
    again = import_file(path, ImportOptions(**options))
    assert again.unchanged == 30 and asked == []
