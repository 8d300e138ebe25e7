"""The collector pause around bulk record and frame building."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from xmetrics_core.bulk import collector_paused
from xmetrics_core.frames import all_frames
from xmetrics_core.parsing import posts_from_json, result_from_json


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        if not was:
            gc.disable()


@pytest.mark.usefixtures("collector_on")
def test_collector_is_off_inside_and_back_on_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_collector_comes_back_after_an_error() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


@pytest.mark.usefixtures("collector_on")
def test_nested_pauses_resume_only_when_the_outer_one_ends() -> None:
    with collector_paused():
        with collector_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_a_thread_ending_its_pause_does_not_resume_another_threads_pause() -> None:
    inside = threading.Event()
    release = threading.Event()

    def other() -> None:
        with collector_paused():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with collector_paused():
        thread.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # the other thread is still building
    release.set()
    thread.join(5)
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_parsing_and_frames_leave_the_collector_on() -> None:
    page: dict[str, Any] = {
        "data": [{"id": "1", "text": "a", "public_metrics": {"like_count": 2}}],
        "includes": {"media": [{"media_key": "3_1", "type": "photo"}]},
    }
    result = result_from_json([orjson.dumps(page)])
    assert gc.isenabled()
    assert [p.id for p in posts_from_json(page["data"])] == ["1"]
    assert gc.isenabled()
    frames = all_frames(result)
    assert gc.isenabled()
    assert frames["posts"]["public_metrics.like_count"].tolist() == [2]
