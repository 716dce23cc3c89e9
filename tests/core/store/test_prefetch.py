"""The importer's read-ahead thread: order, errors, early exit."""

from __future__ import annotations

import threading
import time

import pytest

from raredesk.errors import InputError
from raredesk.store.importer import _Prefetch


def test_items_come_in_order_mapped():
    with _Prefetch(iter(range(50)), lambda x: x * 2) as items:
        assert list(items) == [x * 2 for x in range(50)]


def test_reads_at_most_one_item_ahead():
    produced = []

    def source():
        for i in range(10):
            produced.append(i)
            yield i

    with _Prefetch(source(), lambda x: x) as items:
        it = iter(items)
        assert next(it) == 0
        time.sleep(0.3)
        # item 0 taken, item 1 made and waiting; item 2 not read until item 1 is taken
        assert produced == [0, 1]
        assert next(it) == 1
        time.sleep(0.3)
        assert produced == [0, 1, 2]


def test_an_error_in_the_worker_is_raised_where_it_happened():
    def source():
        yield 1
        yield 2
        raise InputError("corrupt BGZF block (CRC or size check failed)", "x.vcf.gz")

    got = []
    with pytest.raises(InputError, match="corrupt BGZF block"):
        with _Prefetch(source(), lambda x: x) as items:
            for x in items:
                got.append(x)
    assert got == [1, 2]


def test_leaving_early_stops_the_worker_and_closes_the_source():
    closed = threading.Event()

    def source():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    before = {t.name for t in threading.enumerate()}
    with pytest.raises(RuntimeError):
        with _Prefetch(source(), lambda x: x) as items:
            for x in items:
                if x == 3:
                    raise RuntimeError("cancelled")
    assert closed.wait(2)
    assert "raredesk-import-read" not in {t.name for t in threading.enumerate()} - before
