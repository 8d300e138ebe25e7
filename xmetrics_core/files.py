"""Files that hold secrets: written whole or not at all, readable only by their owner."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600.

    The bytes go to a temporary file created 0600 in the same folder, are flushed to disk,
    and the file is renamed over ``path``: a reader sees the old file or the new one, never
    half of one, and the file is never readable by others, not even for a moment. A missing
    folder is created 0700. A file that was world-readable before is replaced by a 0600 one.
    """
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = folder / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        os.fsync(descriptor)
    except BaseException:
        os.close(descriptor)
        temporary.unlink(missing_ok=True)
        raise
    os.close(descriptor)
    os.replace(temporary, path)
