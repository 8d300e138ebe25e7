"""Bulk work without the cyclic garbage collector rescanning what it builds.

Building 100,000 records (or the frames over them) allocates hundreds of thousands of
container objects that form no reference cycles: reference counting frees them. Python's
cyclic collector does not know that; as they pile up it rescans every live one again and
again (a full collection each time the long-lived objects grow by a quarter). At 100,000
Posts with video that was about half of the parse (``bench/bench_frames.py``).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_pause_lock = threading.Lock()
_pauses = 0
_resume_collector = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off for the block, then back as it was.

    Nested and concurrent uses (the client's worker threads each parse their own answer)
    share one pause: the collector is switched off by the first and comes back, if it was
    on when the first began, when the last one ends. Only for code that builds values
    without reference cycles; anything else is still freed when the collector returns.
    """
    global _pauses, _resume_collector
    with _pause_lock:
        if _pauses == 0:
            _resume_collector = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _resume_collector:
                gc.enable()
