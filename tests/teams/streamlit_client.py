"""A browser-like Streamlit session without a browser: the WebSocket protocol the frontend
speaks, with the protobuf classes the streamlit package ships (``BackMsg``, ``ForwardMsg``).

A session connects to ``/_stcore/stream`` (subprotocol ``streamlit``, the browser's cookies,
an ``Origin`` of the same host, as a browser sends them), and each :meth:`StreamlitSession.rerun`
sends one ``BackMsg`` ``rerun_script`` for a page (by its URL path, as the frontend does) and
reads ``ForwardMsg`` s until the run's ``script_finished``. What the page drew comes back as
the raw bytes of the run's messages, so a caller can check a text is on show. No widgets are
touched: a rerun is what a browser's reload or a widget change without new input costs.

Used by ``bench/bench_replicas.py`` (sessions served per replica) and
``tests/teams/test_team_demo.py`` (the History page of two replicas at once).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState, ContextInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol


class RerunFailed(RuntimeError):
    """The script did not finish (a compile error), or the server closed the socket."""


@dataclass(frozen=True, kw_only=True)
class Rerun:
    """One rerun as the client saw it."""

    seconds: float
    """From sending the BackMsg to receiving ``script_finished``."""
    messages: int
    payload: bytes
    """Every ForwardMsg of the run, serialized, one after the other (to search for text)."""


class StreamlitSession:
    """One Streamlit session over one WebSocket (``async with``; see the module doc)."""

    def __init__(
        self, *, base_url: str, cookies: dict[str, str], timeout_seconds: float = 60.0
    ) -> None:
        parts = urlsplit(base_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._stream_url = f"ws://{parts.netloc}/_stcore/stream"
        self._cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        self._timeout = timeout_seconds
        self._socket: ClientConnection | None = None

    async def __aenter__(self) -> StreamlitSession:
        self._socket = await connect(
            self._stream_url,
            subprotocols=[Subprotocol("streamlit")],
            additional_headers={"Cookie": self._cookie, "Origin": self._origin},
            open_timeout=self._timeout,
            max_size=None,
            compression=None,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._socket is not None:
            await self._socket.close()
            self._socket = None

    async def rerun(self, page: str = "") -> Rerun:
        """Run ``page`` (its URL path: ``posts``; ``""`` the default page) once, to the end."""
        if self._socket is None:
            raise RuntimeError("use `async with StreamlitSession(...)`")
        message = BackMsg(
            rerun_script=ClientState(
                query_string="",
                page_name=page,
                context_info=ContextInfo(
                    timezone="UTC", timezone_offset=0, locale="en-US", url=f"{self._origin}/{page}"
                ),
            )
        )
        started = time.perf_counter()
        await self._socket.send(message.SerializeToString())
        received: list[bytes] = []
        async with asyncio.timeout(self._timeout):
            async for frame in self._socket:
                data = frame if isinstance(frame, bytes) else frame.encode()
                received.append(data)
                forward = ForwardMsg()
                forward.ParseFromString(data)
                if forward.WhichOneof("type") != "script_finished":
                    continue
                status = forward.script_finished
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    raise RerunFailed(f"the page {page or '/'} did not compile")
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # the script asked for another run (st.rerun): wait for it
                return Rerun(
                    seconds=time.perf_counter() - started,
                    messages=len(received),
                    payload=b"".join(received),
                )
        raise RerunFailed("the server closed the WebSocket before the run finished")
