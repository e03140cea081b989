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
