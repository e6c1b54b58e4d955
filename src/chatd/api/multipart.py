"""Streaming multipart/form-data: python-multipart's parser turned into simple events.

Feeding a chunk returns what it completed: a part's headers, a piece of its body, its end.
Nothing is buffered beyond the chunk being parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header

from chatd.errors import BadRequest, UnsupportedMediaType

MAX_BOUNDARY = 70  # RFC 2046 section 5.1.1: 1 to 70 characters


@dataclass
class Part:
    name: str = ""
    filename: str | None = None
    content_type: str | None = None


@dataclass
class MultipartReader:
    boundary: bytes
    events: list[tuple[str, Part | bytes | None]] = field(default_factory=list)
    _part: Part = field(default_factory=Part)
    _headers: dict[bytes, bytes] = field(default_factory=dict)
    _field: bytearray = field(default_factory=bytearray)
    _value: bytearray = field(default_factory=bytearray)
    finished: bool = False
    _parser: MultipartParser | None = None

    @classmethod
    def for_content_type(cls, content_type: str | None) -> MultipartReader:
        kind, params = parse_options_header(content_type or "")
        boundary = params.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise UnsupportedMediaType("upload a file as multipart/form-data")
        if len(boundary) > MAX_BOUNDARY:  # python-multipart would raise from its constructor
            raise BadRequest(f"the multipart boundary is longer than {MAX_BOUNDARY} characters")
        reader = cls(boundary)
        reader._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": reader._begin,
                "on_header_field": reader._on_field,
                "on_header_value": reader._on_value,
                "on_header_end": reader._header_end,
                "on_headers_finished": reader._headers_done,
                "on_part_data": reader._data,
                "on_part_end": reader._end,
                "on_end": reader._finish,
            },
        )
        return reader

    def feed(self, chunk: bytes) -> list[tuple[str, Part | bytes | None]]:
        self.events = []
        assert self._parser is not None
        try:
            self._parser.write(chunk)
        except Exception as exc:  # python-multipart raises several kinds on bad framing
            raise BadRequest(f"malformed multipart body: {exc}") from None
        return self.events

    # ---- parser callbacks --------------------------------------------------------------

    def _begin(self) -> None:
        self._headers = {}

    def _on_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[bytes(self._field).lower()] = bytes(self._value)
        self._field.clear()
        self._value.clear()

    def _headers_done(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        filename = params.get(b"filename")
        declared = self._headers.get(b"content-type")
        self._part = Part(
            name=params.get(b"name", b"").decode("utf-8", "replace"),
            filename=None if filename is None else filename.decode("utf-8", "replace"),
            content_type=None if declared is None else declared.decode("latin-1"),
        )
        self.events.append(("part", self._part))

    def _data(self, data: bytes, start: int, end: int) -> None:
        self.events.append(("data", data[start:end]))

    def _end(self) -> None:
        self.events.append(("end", None))

    def _finish(self) -> None:
        self.finished = True
