"""AWS Signature Version 4 for a direct read: the headers botocore's SigV4Auth would add, for less CPU.

botocore signs a request by building an ``AWSRequest`` whose headers are an
``email`` message, preparing it twice (once for the payload's hash, once to
send it), selecting the headers to sign twice and deriving the signing key
with four HMACs every time: 0.6 of a direct read's preparation, which came to
more CPU than parsing its answer. A direct read is always the same shape (a
POST of JSON to one path, a handful of headers), so ``Signer`` works out the
scope, the path and the signing key once (the key once a day) and per request
hashes the body and the canonical request and makes one HMAC. The clock is
botocore's (``botocore.auth.get_current_datetime``), and a test compares every
Authorization header with botocore's own signer's.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import botocore.auth
from botocore.credentials import ReadOnlyCredentials
from botocore.utils import normalize_url_path

ALGORITHM = "AWS4-HMAC-SHA256"
TIMESTAMP = "%Y%m%dT%H%M%SZ"
_auth: Any = botocore.auth  # its clock, looked up at each signing (tests move it); the type stubs leave it out
UNSIGNED = frozenset(botocore.auth.SIGNED_HEADERS_BLACKLIST)
"""Headers SigV4 leaves out of the signature (hop-by-hop ones, the user agent), as botocore lists them."""


class Signer:
    """Signs POSTs to one path of one region's DynamoDB with one set of credentials."""

    def __init__(self, credentials: ReadOnlyCredentials, region: str, path: str, service: str = "dynamodb") -> None:
        self.credentials = credentials
        self._region = region
        self._service = service
        self._path = quote(normalize_url_path(path), safe="/~")
        self._key: tuple[str, bytes] | None = None

    def sign(self, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
        """What signing adds to these headers (Host among them): X-Amz-Date, the session token if any, Authorization."""
        timestamp = _auth.get_current_datetime().strftime(TIMESTAMP)
        added = {"X-Amz-Date": timestamp}
        if self.credentials.token:
            added["X-Amz-Security-Token"] = self.credentials.token
        signed: dict[str, list[str]] = {}
        for name, value in [*headers.items(), *added.items()]:
            lowered = name.lower()
            if lowered not in UNSIGNED:
                signed.setdefault(lowered, []).append(" ".join(value.split()))
        names = sorted(signed)
        canonical = "\n".join(
            [
                "POST",
                self._path,
                "",  # no query string
                "".join(f"{name}:{','.join(signed[name])}\n" for name in names),
                ";".join(names),
                hashlib.sha256(body).hexdigest(),
            ]
        )
        day = timestamp[:8]
        scope = f"{day}/{self._region}/{self._service}/aws4_request"
        string_to_sign = f"{ALGORITHM}\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._signing_key(day), string_to_sign.encode(), hashlib.sha256).hexdigest()
        added["Authorization"] = (
            f"{ALGORITHM} Credential={self.credentials.access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        )
        return added

    def _signing_key(self, day: str) -> bytes:
        kept = self._key  # read once: another thread may be keeping another day's key meanwhile
        if kept is None or kept[0] != day:
            # The secret, then the day, region, service and terminator, each an HMAC.
            key = f"AWS4{self.credentials.secret_key}".encode()
            for part in (day, self._region, self._service, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            kept = self._key = (day, key)
        return kept[1]
