"""Deploying the stack (knight.artifacts.stack) through a CloudFormation change set, and deleting it.

Every deploy is a change set: CloudFormation says what it would add, modify
or remove, and with what replacement, before anything happens; nothing runs
until it is confirmed. While it runs, each stack event is shown as it comes;
at the end, the stack's outputs (the API's URL). Deleting the stack leaves the
table and its data in place (DeletionPolicy Retain) and says how to delete it.

Parameters not given keep the value they were set to at an earlier deploy;
those that were left at the template's default follow the new template's
default (a model that renames its table gives a new TableName, shown first).
The values given are checked against the template before anything is sent.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    WaiterError,
)
from botocore.parsers import ResponseParserError

from knight.engine import LOCAL_CREDENTIALS, Engine, is_aws_url, resolved_url
from knight.errors import (
    ConflictError,
    DeployFailedError,
    EngineError,
    KnightError,
    NotFoundError,
    RefusedError,
    RequestTimeoutError,
    ValidationError,
)

TEMPLATE_BODY_LIMIT = 51_200
"""Bytes CloudFormation takes as TemplateBody; a larger template would have to go through S3."""
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
"""How CloudFormation says a change set changes nothing (the aws CLI's deploy matches these same words)."""
WAIT_SECONDS = 2 * 3600
"""How long to follow a stack operation: an OpenSearch domain alone takes 15 to 30 minutes."""
CHANGE_SET_ATTEMPTS = 200
TABLE = "Table"
"""The table's logical id in the template."""
IAM_NAMES = ("RoleName", "UserName", "GroupName", "ManagedPolicyName", "InstanceProfileName")
"""Properties that name an IAM resource, which CAPABILITY_NAMED_IAM acknowledges."""

_NOT_FOUND = {"404", "NoSuchBucket", "NoSuchKey", "NotFound"}
"""S3's codes for a missing bucket or key (HEAD requests get the bare status)."""

Say = Callable[[str], None]
Confirm = Callable[[str], bool]
"""Asks whether to do what it is given ("execute change set ..."): True to go on, False to stop; raises
RefusedError when it cannot ask."""


# -- where CloudFormation is ------------------------------------------------------


@dataclass
class Target:
    """CloudFormation and S3 for an engine: AWS itself, the embedded engine, or the endpoint boto3 names."""

    engine: Engine
    _clients: dict[str, Any] = field(default_factory=dict)

    def url(self, service: str) -> str | None:
        """The service's endpoint; None for AWS's own. Refuses an endpoint engine that would send it to AWS."""
        if self.engine.is_aws:
            return None
        if self.engine.kind == "embedded":
            return self.engine.dynamodb_url  # moto serves every service on its one port
        url = resolved_url(self.engine.session, service, self.engine.region)
        if is_aws_url(url):
            # DynamoDB is local (AWS_ENDPOINT_URL_DYNAMODB alone, say): never send the stack to AWS by accident.
            raise RefusedError(
                f"deploying needs --aws (or an endpoint that serves CloudFormation): DynamoDB is at "
                f"{self.engine.dynamodb_url}, but {service} would be real AWS; set AWS_ENDPOINT_URL "
                f"(LocalStack, `knight up`), or unset the endpoints and pass --aws"
            )
        return url

    def describe(self) -> str:
        url = self.url("cloudformation")
        if url is None:
            return f"real AWS, region {self.engine.region}"
        what = "the embedded engine (moto)" if self.engine.kind == "embedded" else "the endpoint"
        return f"{what} at {url}"

    def client(self, service: str) -> Any:
        if service not in self._clients:
            kwargs: dict[str, Any] = {
                "region_name": self.engine.region,
                "config": Config(connect_timeout=5, read_timeout=60, retries={"mode": "standard", "max_attempts": 4}),
            }
            url = self.url(service)
            if url is not None:
                kwargs["endpoint_url"] = url
                if self.engine.session.get_credentials() is None:
                    kwargs.update(LOCAL_CREDENTIALS)
            self._clients[service] = self.engine.session.client(service, **kwargs)  # type: ignore[call-overload]
        return self._clients[service]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


@contextmanager
def cloudformation_errors(where: str) -> Iterator[None]:
    """Re-raise what boto3 raises inside the block as a KnightError."""
    try:
        yield
    except KnightError:
        raise
    except EndpointConnectionError:
        raise EngineError(f"cannot reach {where}: start it, or check AWS_ENDPOINT_URL") from None
    except NoCredentialsError:
        raise EngineError("boto3 finds no AWS credentials; configure a profile or set AWS_ACCESS_KEY_ID") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", str(exc))
        if code in {"ValidationError", "InsufficientCapabilitiesException"}:
            raise ValidationError(f"CloudFormation refused the request: {message}") from None
        raise EngineError(f"{where} refused the request ({code}): {message}") from None
    except (BotoCoreError, ResponseParserError) as exc:
        raise EngineError(f"talking to {where} failed: {exc}") from None


# -- the template and its parameters ------------------------------------------------


def default_stack_name(table: str) -> str:
    """knight-<table>, with what a stack name cannot hold (a table's _ and .) made -."""
    return ("knight-" + re.sub(r"[^A-Za-z0-9-]", "-", table))[:128]


def capabilities(template: Mapping[str, Any]) -> list[str]:
    """What the template must acknowledge: IAM resources, and names given to them."""
    found: set[str] = set()
    for resource in template.get("Resources", {}).values():
        if str(resource.get("Type", "")).startswith("AWS::IAM::"):
            found.add("CAPABILITY_IAM")
            if any(name in resource.get("Properties", {}) for name in IAM_NAMES):
                found.add("CAPABILITY_NAMED_IAM")
    return sorted(found)


def _text(value: Any) -> str:
    """A template value as CloudFormation reads it back: text."""
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def check_parameters(template: Mapping[str, Any], given: Mapping[str, str]) -> None:
    """Refuse a value the template would refuse: an unknown key, a value not allowed, too short or too small."""
    declared = template.get("Parameters", {})
    for key, value in given.items():
        spec = declared.get(key)
        if spec is None:
            raise ValidationError(f"the stack has no parameter {key}; it has {', '.join(declared)}")
        allowed = [_text(option) for option in spec.get("AllowedValues", [])]
        if allowed and value not in allowed:
            raise ValidationError(f"{key}={value} is not allowed; the template allows {', '.join(allowed)}")
        pattern = spec.get("AllowedPattern")
        if pattern is not None and re.fullmatch(pattern, value) is None:
            raise ValidationError(f"{key}={value} does not match the template's pattern {pattern}")
        if len(value) < int(spec.get("MinLength", 0)):
            raise ValidationError(f"{key} needs at least {spec['MinLength']} characters")
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                raise ValidationError(f"{key}={value} is not a number") from None
            if "MinValue" in spec and number < float(spec["MinValue"]):
                raise ValidationError(f"{key}={value} is below its minimum, {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                raise ValidationError(f"{key}={value} is above its maximum, {spec['MaxValue']}")


def _defaults(template: Mapping[str, Any]) -> dict[str, str]:
    return {key: _text(spec["Default"]) for key, spec in template.get("Parameters", {}).items() if "Default" in spec}


@dataclass(frozen=True)
class ParameterPlan:
    """What is sent as Parameters, and each value before and after."""

    sent: list[dict[str, Any]]
    before: dict[str, str]
    """The stack's values; empty for a new stack."""
    after: dict[str, str]
    defaults: dict[str, str]

    def changes(self) -> list[tuple[str, str | None, str]]:
        """(key, old value, new value) for each value that changes; for a new stack, (key, None, value) for each
        value that is not the template's default."""
        if not self.before:
            return [(key, None, value) for key, value in self.after.items() if self.defaults.get(key) != value]
        return [
            (key, self.before.get(key), value) for key, value in self.after.items() if self.before.get(key) != value
        ]


def plan_parameters(
    template: Mapping[str, Any],
    given: Mapping[str, str],
    current: Mapping[str, str] | None = None,
    previous_defaults: Mapping[str, str] | None = None,
) -> ParameterPlan:
    """Given values; for a stack that exists (``current``), the values set at an earlier deploy (those that differ
    from ``previous_defaults``, the defaults of the template they were deployed with); the rest, the defaults."""
    defaults = _defaults(template)
    sent: list[dict[str, Any]] = []
    after: dict[str, str] = {}
    for key in template.get("Parameters", {}):
        if key in given:
            sent.append({"ParameterKey": key, "ParameterValue": given[key]})
            after[key] = given[key]
        elif (
            current is not None
            and key in current
            and (previous_defaults is None or current[key] != previous_defaults.get(key))
        ):
            sent.append({"ParameterKey": key, "UsePreviousValue": True})
            after[key] = current[key]
        elif key in defaults:
            after[key] = defaults[key]
        else:
            missing = [k for k in template["Parameters"] if k not in given and k not in defaults]
            raise ValidationError(
                f"the first deploy needs {' and '.join(missing)}: --package ZIP --code-bucket BUCKET "
                "(build the zip with `knight deploy package`), or --code-bucket and --code-key of a zip uploaded before"
            )
    return ParameterPlan(sent, dict(current or {}), after, defaults)


def package_key(path: Path) -> str:
    """Where a package goes in the bucket: a name that holds the start of its SHA-256, so that new code is a new
    key (CloudFormation updates a function's code only when its S3 key changes). `knight deploy package` names
    its zips so already; another zip gets the hash added."""
    with path.open("rb") as package:
        digest = hashlib.file_digest(package, "sha256").hexdigest()[:16]
    return path.name if digest in path.name else f"{path.stem}-{digest}{path.suffix}"


# -- the change set ---------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One line of a change set."""

    action: str
    logical_id: str
    resource_type: str
    replacement: str | None
    """True, False or Conditional for a Modify; None for an Add or a Remove."""


def _changes(described: Mapping[str, Any]) -> list[Change]:
    return [
        Change(
            change["Action"],
            change["LogicalResourceId"],
            change.get("ResourceType", ""),
            change.get("Replacement"),
        )
        for change in (c.get("ResourceChange") for c in described.get("Changes", []))
        if change is not None
    ]


def _table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def change_lines(changes: list[Change]) -> list[str]:
    """The change set as a table: action, logical id, type, replacement."""
    rows = [(c.action, c.logical_id, c.resource_type, c.replacement or "-") for c in changes]
    return _table(rows, ("action", "logical id", "type", "replacement"))


def _event_line(event: Mapping[str, Any]) -> str:
    when = event["Timestamp"].astimezone().strftime("%H:%M:%S") if "Timestamp" in event else ""
    reason = event.get("ResourceStatusReason") or ""
    return f"  {when}  {event.get('LogicalResourceId', ''):<26} {event.get('ResourceStatus', ''):<28} {reason}".rstrip()


def _is_missing(exc: ClientError) -> bool:
    # CloudFormation says a stack is missing only in words: ValidationError, "Stack with id X does not exist".
    error = exc.response.get("Error", {})
    return error.get("Code") == "ValidationError" and "does not exist" in error.get("Message", "")


# -- deploying ----------------------------------------------------------------------


@dataclass
class Deployer:
    """Deploys and deletes one stack, talking to CloudFormation through ``cloudformation``."""

    cloudformation: Any
    where: str
    """Where CloudFormation is, for messages."""
    say: Say
    confirm: Confirm
    knight: str = "knight"
    """How to run knight again against the same place (`knight --aws` on AWS), for the commands it suggests."""
    poll_seconds: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    make_bucket: bool = False
    """Make the code bucket when it is missing: on knight's own engine, which starts empty."""

    # -- reading the stack

    def _describe(self, name: str) -> dict[str, Any] | None:
        try:
            stacks: list[dict[str, Any]] = self.cloudformation.describe_stacks(StackName=name)["Stacks"]
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise
        return stacks[0] if stacks else None

    def _previous_defaults(self, stack_id: str) -> dict[str, str] | None:
        body = self.cloudformation.get_template(StackName=stack_id, TemplateStage="Original")["TemplateBody"]
        try:
            template = body if isinstance(body, dict) else yaml.safe_load(body)
        except yaml.YAMLError:  # a template with short-form tags (!Ref): not knight's; keep every value
            return None
        return _defaults(template) if isinstance(template, dict) else None

    def _newest_event(self, stack_id: str) -> str | None:
        """The id of the stack's latest event: those after it are the ones to show."""
        events = self.cloudformation.describe_stack_events(StackName=stack_id)["StackEvents"]
        return str(events[0]["EventId"]) if events else None

    def _events_since(self, stack_id: str, marker: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """The stack's events after the one with id ``marker``, oldest first; and the newest event's id."""
        new: list[dict[str, Any]] = []
        for page in self.cloudformation.get_paginator("describe_stack_events").paginate(StackName=stack_id):
            for event in page["StackEvents"]:  # newest first
                if event["EventId"] == marker:
                    return new[::-1], new[0]["EventId"] if new else marker
                new.append(event)
        return new[::-1], new[0]["EventId"] if new else marker

    def _follow(self, stack_id: str, marker: str | None) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Show each event as it comes until the stack's operation ends; the stack then (None once deleted), and
        the events shown."""
        # Not boto3's stack waiters: they show nothing while they wait, and stack_create_complete counts
        # UPDATE_ROLLBACK_COMPLETE as a success. The stack's own status says when it is over, and how.
        deadline = time.monotonic() + WAIT_SECONDS
        shown: list[dict[str, Any]] = []
        while True:
            events, marker = self._events_since(stack_id, marker)
            for event in events:
                self.say(_event_line(event))
            shown += events
            stack = self._describe(stack_id)
            if stack is None or not stack["StackStatus"].endswith("_IN_PROGRESS"):
                events, marker = self._events_since(stack_id, marker)  # those that came with the last status
                for event in events:
                    self.say(_event_line(event))
                return stack, shown + events
            if time.monotonic() > deadline:
                raise RequestTimeoutError(
                    f"stack {stack['StackName']} is still {stack['StackStatus']} after {WAIT_SECONDS // 60} minutes; "
                    "CloudFormation carries on: follow it in its console, or run this command again later"
                )
            self.sleep(self.poll_seconds)

    def _failure(self, verb: str, stack: Mapping[str, Any] | None, events: list[dict[str, Any]]) -> KnightError:
        """Print why the operation failed (its events' reasons) and the error to raise."""
        failed = [e for e in events if e.get("ResourceStatus", "").endswith("FAILED") and e.get("ResourceStatusReason")]
        # Resources stopped because another failed say only "cancelled": the others say why.
        causes = [e for e in failed if "cancelled" not in e["ResourceStatusReason"]] or failed
        reasons = list(dict.fromkeys(f"{e['LogicalResourceId']}: {e['ResourceStatusReason']}" for e in causes))
        if reasons:
            self.say("why:")
            for reason in reasons:
                self.say(f"  {reason}")
        status = stack["StackStatus"] if stack is not None else "gone"
        name = stack["StackName"] if stack is not None else "the stack"
        after = {
            "ROLLBACK_COMPLETE": f"nothing was kept; delete the empty stack before deploying again: "
            f"`{self.knight} deploy --delete --stack-name {name}`",
            "UPDATE_ROLLBACK_COMPLETE": "the stack is back as it was before",
        }.get(status, "see its events in the CloudFormation console")
        summary = "; ".join(reasons[:3]) or (stack or {}).get("StackStatusReason") or "no reason given"
        return DeployFailedError(f"stack {name}: {verb} failed ({status}): {summary}; {after}")

    # -- deploy

    def deploy(
        self,
        name: str,
        body: str,
        given: Mapping[str, str],
        *,
        package: Path | None = None,
        s3: Callable[[], Any] | None = None,
    ) -> None:
        """Create or update stack ``name`` from the template ``body`` through a change set, once confirmed."""
        given = dict(given)
        template = yaml.safe_load(body)
        check_parameters(template, given)
        if len(body.encode()) > TEMPLATE_BODY_LIMIT:
            raise ValidationError(
                f"the template is {len(body.encode())} bytes; CloudFormation takes {TEMPLATE_BODY_LIMIT}"
            )
        with cloudformation_errors(self.where):
            stack = self._describe(name)
            self._check_state(name, stack)
            creating = stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS"
            current = (
                None
                if creating or stack is None
                else {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
            )
            previous = None if creating or stack is None else self._previous_defaults(stack["StackId"])
            self.say(f"stack {name} at {self.where}: {'creating it' if creating else 'updating it'}")
            if package is not None:
                given["CodeKey"] = self._upload(package, given, current, s3)
            plan = plan_parameters(template, given, current, previous)
            code_changes = {key for key, _, _ in plan.changes()} & {"CodeBucket", "CodeKey"}
            if package is None and s3 is not None and (creating or code_changes):
                self._check_code(plan.after, s3)
            self._run_change_set(name, body, template, plan, creating)

    def _check_state(self, name: str, stack: Mapping[str, Any] | None) -> None:
        if stack is None:
            return
        status = stack["StackStatus"]
        if status == "ROLLBACK_COMPLETE":
            raise ConflictError(
                f"stack {name} failed to create and was rolled back (ROLLBACK_COMPLETE): it can only be deleted; "
                f"run `{self.knight} deploy --delete --stack-name {name}`, then deploy again"
            )
        if status == "UPDATE_ROLLBACK_FAILED":
            raise ConflictError(
                f"stack {name} is {status}: continue its rollback in the CloudFormation console, then deploy again"
            )
        if status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
            raise ConflictError(f"stack {name} is {status}: wait for that to end, then deploy again")

    def _upload(
        self,
        package: Path,
        given: Mapping[str, str],
        current: Mapping[str, str] | None,
        s3: Callable[[], Any] | None,
    ) -> str:
        bucket = given.get("CodeBucket") or (current or {}).get("CodeBucket")
        if not bucket:
            raise ValidationError("--package needs --code-bucket: the S3 bucket to upload the zip to")
        if s3 is None:
            raise EngineError("no S3 client to upload the package with")
        key = given.get("CodeKey") or package_key(package)
        client = s3()
        try:
            client.head_bucket(Bucket=bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _NOT_FOUND:
                raise
            if not self.make_bucket:
                raise NotFoundError(f"bucket {bucket} does not exist at {self.where}; create it first") from None
            client.create_bucket(Bucket=bucket)
            self.say(f"made bucket {bucket} (the engine is knight's own, and starts empty)")
        try:
            client.head_object(Bucket=bucket, Key=key)
            self.say(f"s3://{bucket}/{key} is there already (its name holds its hash)")
            return key
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _NOT_FOUND:
                raise
        try:
            client.upload_file(str(package), bucket, key)
        except S3UploadFailedError as exc:
            raise EngineError(f"uploading {package.name} to s3://{bucket}/{key} failed: {exc}") from None
        self.say(f"uploaded {package.name} to s3://{bucket}/{key}")
        return key

    def _check_code(self, after: Mapping[str, str], s3: Callable[[], Any]) -> None:
        """Refuse a zip that is not there: CloudFormation would find out minutes in, and undo everything."""
        bucket, key = after.get("CodeBucket"), after.get("CodeKey")
        if not bucket or not key:
            return
        try:
            s3().head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
                raise NotFoundError(
                    f"the functions' zip s3://{bucket}/{key} is not at {self.where}: "
                    "deploy with --package ZIP (built by `knight deploy package`) to upload one"
                ) from None
            # Forbidden, say: knight may not look, but CloudFormation's role may; it will say.

    def _run_change_set(
        self, name: str, body: str, template: Mapping[str, Any], plan: ParameterPlan, creating: bool
    ) -> None:
        change_set_name = f"knight-{datetime.now(UTC):%Y%m%d-%H%M%S}"
        try:
            created = self.cloudformation.create_change_set(
                StackName=name,
                ChangeSetName=change_set_name,
                ChangeSetType="CREATE" if creating else "UPDATE",
                TemplateBody=body,
                Parameters=plan.sent,
                Capabilities=capabilities(template),
                Description="knight deploy",
            )
        except ClientError as exc:
            if any(words in exc.response.get("Error", {}).get("Message", "") for words in NO_CHANGES):
                self.say(f"no changes: stack {name} is up to date")
                return
            raise
        change_set, stack_id = created["Id"], created["StackId"]
        try:
            self.cloudformation.get_waiter("change_set_create_complete").wait(
                ChangeSetName=change_set,
                WaiterConfig={"Delay": max(1, int(self.poll_seconds)), "MaxAttempts": CHANGE_SET_ATTEMPTS},
            )
        except WaiterError:
            described = self.cloudformation.describe_change_set(ChangeSetName=change_set)
            reason = described.get("StatusReason") or described.get("Status", "unknown")
            self._discard(change_set, stack_id, creating)
            if any(words in reason for words in NO_CHANGES):
                self.say(f"no changes: stack {name} is up to date")
                return
            raise ValidationError(f"CloudFormation could not make the change set: {reason}") from None
        changes = self._all_changes(change_set)
        self._show(change_set_name, creating, changes, plan)
        try:
            go = self.confirm(f"execute change set {change_set_name} on stack {name} ({self.where})")
        except BaseException:
            self._discard(change_set, stack_id, creating)
            raise
        if not go:
            self._discard(change_set, stack_id, creating)
            self.say("not executed: the change set was deleted, nothing changed")
            return
        marker = self._newest_event(stack_id)
        self.say(f"executing change set {change_set_name}")
        # A resource this deploy made goes on a rollback even if it is kept otherwise (the table's Retain):
        # a failed first deploy leaves no table behind to block the next one.
        self.cloudformation.execute_change_set(ChangeSetName=change_set, RetainExceptOnCreate=True)
        stack, events = self._follow(stack_id, marker)
        wanted = "CREATE_COMPLETE" if creating else "UPDATE_COMPLETE"
        if stack is None or stack["StackStatus"] != wanted:
            raise self._failure("creating" if creating else "updating", stack, events)
        self.say(f"stack {name}: {wanted}")
        self._show_outputs(stack)

    def _all_changes(self, change_set: str) -> list[Change]:
        changes: list[Change] = []
        request: dict[str, Any] = {"ChangeSetName": change_set}
        while True:
            described = self.cloudformation.describe_change_set(**request)
            changes += _changes(described)
            if not described.get("NextToken"):
                return changes
            request["NextToken"] = described["NextToken"]

    def _show(self, change_set_name: str, creating: bool, changes: list[Change], plan: ParameterPlan) -> None:
        self.say(f"change set {change_set_name} ({'CREATE' if creating else 'UPDATE'}):")
        if changes:
            for line in change_lines(changes):
                self.say(line)
        else:
            self.say("  no resource changes (parameters or outputs only)")
        table = next((c for c in changes if c.logical_id == TABLE and c.replacement in {"True", "Conditional"}), None)
        if table is not None:
            self.say(
                f"  the table would be replaced (Replacement {table.replacement}): a new, empty table takes its "
                "place; the old one and its data stay (UpdateReplacePolicy Retain) but nothing uses them"
            )
        parameters = plan.changes()
        if parameters:
            self.say("parameters:")
            # A new stack's values, or each value's change (from none: a parameter the stack did not have).
            rows = [
                (key, value if not plan.before else f"{old or '(none)'} -> {value}") for key, old, value in parameters
            ]
            for line in _table(rows, ("name", "value")):
                self.say(line)

    def _discard(self, change_set: str, stack_id: str, creating: bool) -> None:
        """Delete a change set that will not run, and the empty stack a CREATE change set made."""
        self.cloudformation.delete_change_set(ChangeSetName=change_set)
        if creating:
            stack = self._describe(stack_id)
            if stack is not None and stack["StackStatus"] == "REVIEW_IN_PROGRESS":
                self.cloudformation.delete_stack(StackName=stack_id)

    def _show_outputs(self, stack: Mapping[str, Any]) -> None:
        outputs = [(o["OutputKey"], o.get("OutputValue", "")) for o in stack.get("Outputs") or []]
        if not outputs:
            self.say("outputs: none reported")
            return
        self.say("outputs:")
        for line in _table(outputs, ("name", "value"))[1:]:
            self.say(line)

    # -- delete

    def delete(self, name: str) -> None:
        """Delete stack ``name`` once confirmed; its table stays."""
        with cloudformation_errors(self.where):
            stack = self._describe(name)
            if stack is None:
                raise NotFoundError(f"stack {name} does not exist at {self.where}; nothing to delete")
            table = self._table_name(stack)
            delete_table = f"`{self.knight} --table {table} table delete --yes`"
            self.say(
                f"stack {name} at {self.where} will be deleted: its functions, HTTP API, roles, log groups (and "
                "their logs), dead-letter queue (and its messages) and search domain, if any."
            )
            self.say(f"The table {table} stays, with its data (DeletionPolicy Retain); {delete_table} deletes it.")
            if not self.confirm(f"delete stack {name} ({self.where})"):
                self.say("not deleted: nothing changed")
                return
            stack_id = stack["StackId"]
            marker = self._newest_event(stack_id)
            self.cloudformation.delete_stack(StackName=stack_id)
            after, events = self._follow(stack_id, marker)
            if after is not None and after["StackStatus"] != "DELETE_COMPLETE":
                raise self._failure("deleting", after, events)
            self.say(f"stack {name} deleted. The table {table} and its data remain: {delete_table} deletes them.")

    def _table_name(self, stack: Mapping[str, Any]) -> str:
        values = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
        values |= {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs") or []}
        return values.get("TableName") or "(unknown)"
