"""knight's one layer of DynamoDB I/O: values, batches and back-off, on top of boto3."""

from knight.dynamodb.backoff import Backoff
from knight.dynamodb.batches import BatchWriter, WriteRequest, batch_get, chunks, delete_request, put_request
from knight.dynamodb.values import from_dynamodb, plain, to_attribute, to_dynamodb, whole_number

__all__ = [
    "Backoff",
    "BatchWriter",
    "WriteRequest",
    "batch_get",
    "chunks",
    "delete_request",
    "from_dynamodb",
    "plain",
    "put_request",
    "to_attribute",
    "to_dynamodb",
    "whole_number",
]
