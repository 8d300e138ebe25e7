"""Bytes of an uploaded file → UTF-8 CSV bytes and its dialect, or a clear refusal.

Decided here (and documented in the README):

* **Size.** Files over :data:`MAX_IMPORT_BYTES` (64 MiB) are refused before they are read,
  stating the limit. X's exports are far smaller: the legacy export covers at most 91
  days, and 100,000 Posts of it (the benchmark) are 35 MB.
* **Encodings.** A byte-order mark decides (UTF-8, UTF-16 LE/BE as Excel's "Unicode text"
  writes, UTF-32). Without one: UTF-16 when every other byte of the start is NUL; else UTF-8
  when the whole file is valid UTF-8; else Windows-1252 (Excel's "CSV" on Western Windows),
  said in a note, when nothing in the file was valid multi-byte UTF-8 before the first
  invalid byte. A file that is partly UTF-8 and partly not is damaged: refused at that line.
* **Not text.** NUL bytes (outside UTF-16), many control characters, or the signature of a
  workbook, zip, PDF, gzip or image is refused as "not a CSV", saying what it is.
* **Dialect.** The delimiter is whichever of ``,`` ``;`` tab ``|`` splits the header into
  the most cells that X's exports use (a ``sep=;`` first line, as Excel writes, wins). CRLF,
  CR and LF line ends and quoted cells with line breaks are read as they are.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from xmetrics_core.imports.errors import ImportRefused
from xmetrics_core.imports.formats import recognised_count

MAX_IMPORT_BYTES = 64 * 1024 * 1024
"""Largest file the importer reads (64 MiB)."""
SNIFF_BYTES = 64 * 1024
"""How much of the start is examined for the encoding, binary content and the header."""
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a zip archive or an Excel workbook (.xlsx): save it as CSV first"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls): save it as CSV first"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive: unpack it first"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"window.YTD.", "a file from X's data archive (tweets.js), not an analytics export"),
)
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SEP_LINE = re.compile(r'^"?sep=(.)"?\s*$', re.IGNORECASE)
_VALID_CHUNK = 1 << 20


@dataclass(frozen=True, kw_only=True)
class DecodedFile:
    """The file as UTF-8 bytes without a BOM, and how it was read.

    Either ``content`` holds the bytes, or ``path`` names a file on disk that is UTF-8
    as it stands (checked at its start; pandas checks the rest as it reads): then nobody
    holds a copy of it, and it is read whole only to name a line in a message.
    """

    encoding: str
    """``utf-8``, ``utf-8 with BOM``, ``utf-16-le``, ``windows-1252`` …"""
    notes: tuple[str, ...] = ()
    content: bytes | None = None
    path: Path | None = None

    @cached_property
    def data(self) -> bytes:
        if self.content is not None:
            return self.content
        assert self.path is not None
        return self.path.read_bytes()

    @cached_property
    def start(self) -> tuple[bytes, bool]:
        """The first :data:`SNIFF_BYTES` and whether that is the whole file."""
        if self.content is not None:
            return self.content[:SNIFF_BYTES], len(self.content) <= SNIFF_BYTES
        assert self.path is not None
        with self.path.open("rb") as handle:
            start = handle.read(SNIFF_BYTES + 1)
        return start[:SNIFF_BYTES], len(start) <= SNIFF_BYTES

    def source(self) -> Path | io.BytesIO:
        """What read_csv reads: the path, or the bytes in memory."""
        if self.content is None and self.path is not None:
            return self.path
        return io.BytesIO(self.data)


@dataclass(frozen=True, slots=True, kw_only=True)
class Dialect:
    delimiter: str
    skip_lines: int
    """Lines before the header (blank lines, Excel's ``sep=`` line)."""
    header: tuple[str, ...]
    header_line: int
    """1-based line of the header."""

    @property
    def delimiter_name(self) -> str:
        return _DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))


def _size_text(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def check_size(size: int, *, file: str) -> None:
    """Refuse a file over :data:`MAX_IMPORT_BYTES`, stating the limit."""
    if size > MAX_IMPORT_BYTES:
        raise ImportRefused(
            f"the file is {_size_text(size)}; the importer reads files up to "
            f"{MAX_IMPORT_BYTES // (1024 * 1024)} MiB ({_size_text(MAX_IMPORT_BYTES)}). X's "
            "exports are far smaller: export a shorter date range",
            file=file,
        )


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _looks_utf16(start: bytes) -> str | None:
    """``utf-16-le``/``-be`` when every other byte of ``start`` is NUL (ASCII text in UTF-16)."""
    sample = start[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _refuse_binary(data: bytes, *, file: str) -> None:
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise ImportRefused(f"this is not a CSV file but {what}", file=file)
    start = data[:SNIFF_BYTES]
    nul = start.find(b"\x00")
    if nul >= 0:
        raise ImportRefused(
            f"this is a binary file, not a CSV (a NUL byte at byte {nul + 1})",
            file=file,
            line=_line_at(data, nul),
        )
    controls = len(_CONTROL.findall(start))
    if controls > max(8, len(start) // 100):
        raise ImportRefused(
            f"this is a binary file, not a CSV ({controls} control characters in its first "
            f"{len(start):,} bytes)",
            file=file,
        )


def _reencoded(data: bytes, encoding: str, *, file: str, offset: int = 0) -> bytes:
    try:
        text = data[offset:].decode(encoding)
    except UnicodeDecodeError as exc:
        position = offset + exc.start
        raise ImportRefused(
            f"the file is not valid {encoding.upper()} (byte {position + 1}): it is damaged",
            file=file,
            line=_line_at(data, position),
        ) from None
    return text.encode("utf-8")


def _first_invalid_utf8(data: bytes, *, complete: bool = True) -> int | None:
    """Offset of the first byte that is not valid UTF-8 (checked in 1 MiB chunks so no
    full-size text is built), or None. ``complete=False``: ``data`` is only the start of
    the file, so a character cut at its end is fine."""
    if data.isascii():
        return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(data), _VALID_CHUNK):
        carried = len(decoder.getstate()[0])  # an incomplete sequence from the last chunk
        try:
            decoder.decode(data[start : start + _VALID_CHUNK], final=False)
        except UnicodeDecodeError as exc:
            return start - carried + exc.start
    carried = len(decoder.getstate()[0])
    if carried == 0 or not complete:
        return None
    return len(data) - carried  # the file ends in the middle of a character


def decode(data: bytes, *, file: str) -> DecodedFile:
    """The file as UTF-8 bytes (BOM removed), or :class:`ImportRefused` saying why not."""
    check_size(len(data), file=file)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            if encoding == "utf-8":
                body = data[len(bom) :]
                found = DecodedFile(content=body, encoding="utf-8 with BOM")
                break
            _require_text(data[len(bom) :], file=file)
            return DecodedFile(
                content=_reencoded(data, encoding, file=file, offset=len(bom)),
                encoding=encoding,
            )
    else:
        found = DecodedFile(content=data, encoding="utf-8")
    body = found.data
    _require_text(body, file=file)
    utf16 = _looks_utf16(body)
    if utf16 is not None:
        return DecodedFile(content=_reencoded(body, utf16, file=file), encoding=utf16)
    _refuse_binary(body, file=file)
    if _first_invalid_utf8(body[:SNIFF_BYTES], complete=len(body) <= SNIFF_BYTES) is None:
        return found  # the rest is checked as it is read (see not_utf8)
    return not_utf8(found, file=file)


def decode_path(path: Path, *, file: str) -> DecodedFile:
    """A file on disk: its size checked before anything is read; when its start is plain
    UTF-8 (no BOM, not UTF-16, not binary) it is left on disk for read_csv to read
    (:class:`DecodedFile` ``path``), else read and decoded like uploaded bytes."""
    check_size(path.stat().st_size, file=file)
    on_disk = DecodedFile(path=path, encoding="utf-8")
    start, whole = on_disk.start
    plain = (
        not whole
        and not any(start.startswith(bom) for bom, _ in _BOMS)
        and _looks_utf16(start) is None
        and not start.isspace()
        and _first_invalid_utf8(start, complete=False) is None
    )
    if not plain:
        return decode(path.read_bytes(), file=file)
    _refuse_binary(start, file=file)
    return on_disk


def not_utf8(found: DecodedFile, *, file: str) -> DecodedFile:
    """A file that turned out not to be valid UTF-8: Windows-1252 when nothing before the
    first invalid byte was multi-byte UTF-8 (then it is a legacy spreadsheet save), else
    refused at that line (a damaged file, or one that mixes encodings)."""
    body = found.data
    invalid = _first_invalid_utf8(body)
    if invalid is None:
        return found
    if not found.encoding.startswith("utf-8"):
        raise ImportRefused(f"the file cannot be decoded (byte {invalid + 1})", file=file)
    if any(b >= 0x80 for b in body[:invalid]):
        raise ImportRefused(
            f"the file is not valid UTF-8 at byte {invalid + 1} although earlier text is: "
            "it is damaged or mixes encodings",
            file=file,
            line=_line_at(body, invalid),
        )
    try:
        text = body.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ImportRefused(
            f"the file is neither UTF-8 nor Windows-1252 (byte {exc.start + 1})",
            file=file,
            line=_line_at(body, exc.start),
        ) from None
    return DecodedFile(
        content=text.encode("utf-8"),
        encoding="windows-1252",
        notes=(
            "read as Windows-1252, not UTF-8 (a spreadsheet saved it so): emoji and "
            "non-Latin text were already lost when it was saved",
        ),
    )


def _require_text(body: bytes, *, file: str) -> None:
    if not body or body.isspace():
        raise ImportRefused("the file is empty", file=file)
    if body[:1] == b"\x00" and body.count(0) == len(body):
        raise ImportRefused("the file holds nothing but NUL bytes", file=file)


def _first_lines(decoded: DecodedFile) -> list[str]:
    """Up to :data:`SNIFF_BYTES` of the start as text lines (the last one dropped when the
    file goes on: the cut may fall inside it)."""
    start, whole = decoded.start
    lines = start.decode("utf-8", errors="replace").splitlines(keepends=True)
    if not whole and len(lines) > 1:
        lines = lines[:-1]
    return lines


def sniff_dialect(decoded: DecodedFile, *, file: str) -> Dialect:
    """Find the header line and the delimiter (see the module docstring).

    The header is the first non-blank line after an optional ``sep=`` line; it is split
    with each candidate delimiter and the split naming most of X's columns wins (then
    the one with most cells).
    """
    lines = _first_lines(decoded)
    skip = 0
    while skip < len(lines) and not lines[skip].strip():
        skip += 1
    forced: str | None = None
    if skip < len(lines):
        sep = _SEP_LINE.match(lines[skip].strip())
        if sep is not None:
            forced = sep.group(1)
            skip += 1
            while skip < len(lines) and not lines[skip].strip():
                skip += 1
    if skip >= len(lines):
        raise ImportRefused("the file has no header line", file=file)
    sample = "".join(lines[skip:])
    candidates = (forced,) if forced else DELIMITERS
    best: tuple[int, int, str, list[str]] | None = None
    for delimiter in candidates:
        cells = _first_record(sample, delimiter)
        score = (recognised_count(cells), len(cells))
        if best is None or score > best[:2]:
            best = (*score, delimiter, cells)
    assert best is not None
    _, _, delimiter, cells = best
    return Dialect(delimiter=delimiter, skip_lines=skip, header=tuple(cells), header_line=skip + 1)


def _first_record(text: str, delimiter: str) -> list[str]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        return next(reader, [])
    except csv.Error:
        return []


def record_lines(decoded: DecodedFile, dialect: Dialect) -> list[int]:
    """The 1-based line on which each data record starts (blank lines skipped, as the
    table reader skips them). Used only to name lines in messages."""
    text = io.StringIO(decoded.data.decode("utf-8", errors="replace"), newline="")
    for _ in range(dialect.skip_lines):
        text.readline()
    reader = csv.reader(text, delimiter=dialect.delimiter, strict=False)
    starts: list[int] = []
    previous_end = dialect.skip_lines
    header_seen = False
    try:
        for row in reader:
            begin = previous_end + 1
            previous_end = reader.line_num + dialect.skip_lines
            if not row or not any(cell.strip() for cell in row) and len(row) <= 1:
                continue
            if not header_seen:
                header_seen = True
                continue
            starts.append(begin)
    except csv.Error:
        pass
    return starts
