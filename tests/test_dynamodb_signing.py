"""knight.dynamodb.signing: every header it adds is the one botocore's own SigV4Auth adds to the same request."""

from __future__ import annotations

import datetime

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from knight.dynamodb.signing import Signer

HEADERS = {
    "Host": "127.0.0.1:8000",
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "DynamoDB_20120810.Query",
    "User-Agent": "knight-direct-reads",  # not signed
}
BODY = b'{"TableName":"t","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"\\u00e9"}}}'


def botocores(
    credentials: ReadOnlyCredentials, region: str, url: str, headers: dict[str, str], body: bytes
) -> dict[str, str]:
    request = AWSRequest("POST", url, headers=dict(headers), data=body)
    SigV4Auth(credentials, "dynamodb", region).add_auth(request)
    return {name: request.headers[name] for name in request.headers if name not in headers}


@pytest.mark.parametrize(
    ("token", "path", "extra"),
    [
        (None, "/", {}),
        ("session-token", "/", {}),
        (None, "/some path/", {}),
        (None, "/", {"X-Spaced": "  a   b  ", "Expect": "100-continue", "X-Amzn-Trace-Id": "Root=1"}),
    ],
    ids=["plain", "session token", "a path to encode", "headers to trim and to leave out"],
)
@pytest.mark.parametrize("stamp", ["20261207T235959Z", "20261208T000001Z"])
def test_signs_as_botocore_signs(
    token: str | None, path: str, extra: dict[str, str], stamp: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    moment = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: moment)
    credentials = ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    headers = {**HEADERS, **extra}
    signer = Signer(credentials, "eu-west-1", path)
    ours = signer.sign(headers, BODY)
    assert ours == botocores(credentials, "eu-west-1", f"http://127.0.0.1:8000{path}", headers, BODY)
    assert ours["X-Amz-Date"] == stamp
    assert ("X-Amz-Security-Token" in ours) is (token is not None)


def test_a_new_day_gets_its_own_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The signing key is kept for its day only: a request after midnight is signed as botocore signs it."""
    credentials = ReadOnlyCredentials("AKIDEXAMPLE", "secret", None)
    signer = Signer(credentials, "us-east-1", "/")
    for stamp in ("20261207T120000Z", "20261208T120000Z", "20261207T120001Z"):
        moment = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda moment=moment: moment)
        expected = botocores(credentials, "us-east-1", "http://127.0.0.1:8000/", HEADERS, BODY)
        assert signer.sign(HEADERS, BODY) == expected
