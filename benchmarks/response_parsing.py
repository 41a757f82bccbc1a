"""botocore's JSON parser against knight.dynamodb.parsing, on the read answers exploreDb gets.

    python benchmarks/response_parsing.py [--items 20] [--number 2000]

Parses the same Query answer (items like the seed's: keys, a date, a number, a
200-character text, one binary) with each parser, checks that both give the
same answer, and prints the time per parse and the ratio. No engine: the body
is made here, so only the parsing is timed.
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import timeit
from typing import Any

import boto3
from botocore import parsers

from knight.dynamodb import parsing, to_dynamodb


def answer_body(count: int) -> bytes:
    items = [
        to_dynamodb(
            {
                "pk": "c#1",
                "sk": f"e#{n:03}",
                "gsi1pk": f"s#{n}",
                "gsi1sk": "c#1",
                "entityType": "enrollment",
                "date": "2026-12-01",
                "xp": n * 10,
                "content": "x" * 200,
            }
        )
        | {"mark": {"B": base64.b64encode(b"\x00\x01").decode()}}  # as DynamoDB sends a binary
        for n in range(count)
    ]
    return json.dumps({"Items": items, "Count": count, "ScannedCount": count}).encode()


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--items", type=int, default=20, help="items in the answer (default 20)")
    options.add_argument("--number", type=int, default=2000, help="parses per timing (default 2000)")
    args = options.parse_args()
    query = boto3.Session().client("dynamodb", region_name="us-east-1").meta.service_model.operation_model("Query")
    output = query.output_shape
    assert output is not None
    response: dict[str, Any] = {"status_code": 200, "headers": {}, "body": answer_body(args.items)}
    botocore_own = parsers.ResponseParserFactory().create_parser("json")
    knight = parsing.ParserFactory().create_parser("json")
    if botocore_own.parse(response, output) != knight.parse(response, output):
        raise SystemExit("the two parsers disagree: nothing to compare")
    times = {}
    for name, parser in (("botocore", botocore_own), ("knight", knight)):
        best = min(timeit.repeat(functools.partial(parser.parse, response, output), number=args.number, repeat=5))
        times[name] = best / args.number * 1000
        print(f"{name:>9}: {times[name]:.3f} ms per {args.items}-item Query answer (best of 5 x {args.number})")
    print(f"    ratio: knight / botocore = {times['knight'] / times['botocore']:.2f}")


if __name__ == "__main__":
    main()
