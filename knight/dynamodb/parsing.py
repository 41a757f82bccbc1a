"""A faster reading of DynamoDB's read responses, plugged into botocore where it allows one.

botocore parses every JSON response by walking the operation's output shape: for
each attribute value of each item it visits all ten members of AttributeValue's
shape. For a Query of twenty items that walk cost more CPU than DynamoDB Local
took to answer, and exploreDb makes 55 such reads under one interpreter lock.

The output of Query, Scan, GetItem and BatchGetItem is already, as JSON, what
botocore would return, except that binary values (``B``, ``BS``) arrive in
base64. So for those four outputs the parser reads the JSON once and decodes
binaries as it goes; every other output, and every error, takes botocore's own
path. botocore's session takes a parser factory as a registered component;
``session()`` is a boto3 session with this one registered.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import boto3
import botocore.session
from botocore import parsers
from botocore.model import Shape

READ_OUTPUTS = frozenset({"QueryOutput", "ScanOutput", "GetItemOutput", "BatchGetItemOutput"})
"""The outputs read straight from their JSON: items, keys and capacity, no timestamps."""


class ReadResponseParser(parsers.JSONParser):
    """botocore's JSON parser, reading the four read outputs without walking their shape."""

    def __init__(self, timestamp_parser: Any = None, blob_parser: Any = None) -> None:
        super().__init__(timestamp_parser, blob_parser)
        self._decode: Callable[[str], bytes] = blob_parser or base64.b64decode

    # botocore calls this hook for a response's body; its type stubs leave the private hook out.
    def _handle_json_body(self, raw_body: bytes, shape: Shape | None) -> Any:
        botocore_own: Callable[[bytes, Shape | None], Any] = super()._handle_json_body  # type: ignore[misc]
        if shape is None or shape.name not in READ_OUTPUTS:
            return botocore_own(raw_body, shape)
        try:
            return read_output(raw_body, self._decode)
        except ValueError:  # not JSON after all: botocore's own path says so its way
            return botocore_own(raw_body, shape)


def read_output(raw_body: bytes, decode: Callable[[str], bytes] = base64.b64decode) -> dict[str, Any]:
    """A read output's JSON as botocore returns it: binaries decoded; ValueError if it is not JSON."""
    if not raw_body:
        return {}

    def binaries(value: dict[str, Any]) -> dict[str, Any]:
        # Only an attribute value is a one-member object holding a string under B or a list
        # of strings under BS; an attribute *named* B maps to an object, never a string.
        if len(value) == 1:
            if isinstance(found := value.get("B"), str):
                return {"B": decode(found)}
            if isinstance(found := value.get("BS"), list) and all(isinstance(one, str) for one in found):
                return {"BS": [decode(one) for one in found]}
        return value

    # Without a "B" or "BS" string (a quote inside a string is escaped, so a value holding one is not
    # it), or an escape that could spell one, there is no binary to decode: json.loads alone takes
    # half the time of json.loads calling a hook for every object.
    plain = b'"B"' not in raw_body and b'"BS"' not in raw_body and b"\\u" not in raw_body
    output: dict[str, Any] = json.loads(raw_body) if plain else json.loads(raw_body, object_hook=binaries)
    return output


class ParserFactory(parsers.ResponseParserFactory):
    """botocore's parser factory, with ``ReadResponseParser`` for the JSON protocol."""

    def __init__(self) -> None:
        super().__init__()
        self._settings: dict[str, Any] = {}

    def set_parser_defaults(self, **kwargs: Any) -> None:
        super().set_parser_defaults(**kwargs)
        self._settings.update(kwargs)

    def create_parser(self, protocol_name: str) -> parsers.ResponseParser:
        if protocol_name == "json":
            return ReadResponseParser(**self._settings)
        parser: parsers.ResponseParser = super().create_parser(protocol_name)
        return parser


def session(**kwargs: Any) -> boto3.Session:
    """A boto3 session (same arguments) whose clients read responses with ``ParserFactory``."""
    core = botocore.session.get_session()
    core.register_component("response_parser_factory", ParserFactory())
    return boto3.Session(botocore_session=core, **kwargs)
