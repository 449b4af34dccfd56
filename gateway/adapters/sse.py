"""Incremental Server-Sent Events parsing and formatting.

`SSEParser` turns an arbitrarily split byte stream (as delivered by an HTTP
client's ``iter_bytes``) into complete ``(event, data)`` pairs, following the
WHATWG event-stream interpretation rules:

* lines end with ``\\n``, ``\\r\\n`` or a lone ``\\r`` (a ``\\r\\n`` split across
  two chunks is recognised as a single terminator);
* ``data:`` lines accumulate and are joined with ``\\n``;
* a single space after the colon is stripped; a line without a colon is a
  field with an empty value;
* lines starting with ``:`` are comments (keep-alives) and are ignored;
* an event is dispatched on a blank line, only if at least one ``data`` line
  was seen; the ``event`` name is reset after every dispatch;
* a leading UTF-8 byte order mark is ignored.

The parser works on bytes and never decodes payloads, so multi-byte UTF-8
characters split across chunks are harmless. Work per ``feed`` is linear in the
size of the new data plus the (incomplete) pending line: complete lines are
consumed immediately, and a chunk without any line terminator is only appended
to the pending buffer.
"""

from __future__ import annotations

__all__ = ["SSEParser", "format_event"]

_BOM = b"\xef\xbb\xbf"


def format_event(data: bytes, event: str | None = None) -> bytes:
    """Serialise one SSE event (``data`` must not contain newlines)."""
    if event is None:
        return b"data: " + data + b"\n\n"
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


class SSEParser:
    """Incremental SSE parser: ``feed(bytes) -> [(event, data), ...]``.

    ``event`` is the ``event:`` field as a ``str`` (``None`` when absent) and
    ``data`` is the raw joined ``data:`` payload as ``bytes``.
    """

    __slots__ = ("_buf", "_data", "_event", "_skip_lf", "_started", "last_event_id")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._data: list[bytes] = []
        self._event: str | None = None
        self._skip_lf = False
        self._started = False
        self.last_event_id: str | None = None

    def feed(self, chunk: bytes) -> list[tuple[str | None, bytes]]:
        """Consume a chunk of bytes and return the events it completed."""
        if not chunk:
            return []
        if not self._started:
            # A BOM may itself be split; wait until we have 3 bytes to decide.
            if len(self._buf) + len(chunk) < 3 and _BOM.startswith(bytes(self._buf) + chunk):
                self._buf += chunk
                return []
            self._started = True
            if self._buf:
                chunk = bytes(self._buf) + chunk
                self._buf.clear()
            if chunk.startswith(_BOM):
                chunk = chunk[3:]
                if not chunk:
                    return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
                if not chunk:
                    return []
        # Fast path: no line terminator in the new data -> just buffer it.
        last_lf = chunk.rfind(b"\n")
        last_cr = chunk.rfind(b"\r")
        cut = max(last_lf, last_cr)
        if cut < 0:
            self._buf += chunk
            return []
        if self._buf:
            self._buf += chunk[: cut + 1]
            complete = bytes(self._buf)
            self._buf.clear()
        else:
            complete = chunk[: cut + 1]
        rest = chunk[cut + 1 :]
        if rest:
            self._buf += rest
        elif last_cr == cut:
            # Chunk ends with "\r": a "\n" starting the next chunk belongs to it.
            self._skip_lf = True
        events: list[tuple[str | None, bytes]] = []
        for line in complete.splitlines():
            self._process_line(line, events)
        return events

    def flush(self) -> list[tuple[str | None, bytes]]:
        """End of stream: return a pending event that lacked its blank line.

        Strictly, the SSE spec discards such an event; upstreams that forget
        the final blank line are common enough that callers may want it.
        """
        events: list[tuple[str | None, bytes]] = []
        if self._buf:
            line = bytes(self._buf)
            self._buf.clear()
            self._process_line(line, events)
        self._process_line(b"", events)
        self._skip_lf = False
        return events

    def _process_line(self, line: bytes, events: list[tuple[str | None, bytes]]) -> None:
        if not line:
            if self._data:
                data = self._data[0] if len(self._data) == 1 else b"\n".join(self._data)
                events.append((self._event, data))
                self._data = []
            self._event = None
            return
        if line[0] == 0x3A:  # ":" comment / keep-alive
            return
        field, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if field == b"data":
            self._data.append(value)
        elif field == b"event":
            self._event = value.decode("utf-8", "replace")
        elif field == b"id" and b"\0" not in value:
            self.last_event_id = value.decode("utf-8", "replace")
        # "retry" and unknown fields are ignored.
