"""Pulumi mocks that create each resource of the real program in the embedded emulator.

The Pulumi program is the single description of the stack: run under these mocks, every resource it
declares that moto can hold comes to life in moto with the settings the program gave it: queues and
their policies, buckets with their public-access blocks, encryption, TLS-only policies, lifecycle rules,
CORS, notifications and objects, the tables with their TTL and point-in-time recovery, topics, secrets,
roles and their policies, log groups with their retention, alarms. What moto cannot hold, or hold but not
run, is `NOT_IN_EMULATOR`, the one list of what is skipped and why; the runtime, the gateway and the
schedules play those from the record. A resource type in neither fails the embedded stack at once.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from embedded.emulator import ACCOUNT_ID, REGION, EmulatorEndpoint
from embedded.schedules import ScheduleRecord


@dataclass
class FunctionRecord:
    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    timeout: int = 3
    memory_mb: int = 128


def revealed(value: Any) -> Any:
    """Inputs with their secrets unwrapped: the emulator is given the value, as AWS would be; Pulumi still
    keeps it encrypted in the state."""
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        return revealed(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {key: revealed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [revealed(item) for item in value]
    return value


@dataclass
class EventSourceRecord:
    queue_arn: str
    function_name: str
    batch_size: int = 10
    batching_window_s: float = 0.0
    report_batch_item_failures: bool = False
    max_concurrency: int | None = None
    starting_position: str | None = None  # streams only: LATEST | TRIM_HORIZON
    maximum_retry_attempts: int = -1  # streams only: -1 retries until the record expires
    maximum_record_age_s: int = -1  # streams only: older records are not delivered (-1: no limit)
    bisect_on_error: bool = False  # streams only: a failing batch is split in two and each half retried
    on_failure_arn: str | None = None  # streams only: where a batch given up on is described (an SQS queue)
    filter_patterns: list[dict[str, Any]] = field(default_factory=list)  # FilterCriteria: any one must match

    @property
    def is_stream(self) -> bool:
        return ":dynamodb:" in self.queue_arn and "/stream/" in self.queue_arn


@dataclass
class SubscriptionRecord:
    arn: str
    topic_arn: str
    protocol: str
    endpoint: str
    raw_message_delivery: bool = False
    filter_policy: dict[str, Any] | None = None


@dataclass
class QueueRecord:
    name: str
    url: str
    arn: str
    visibility_timeout_s: int
    redrive_policy: dict[str, Any] | None = None


@dataclass
class ApiRecord:
    """An API Gateway v2 API, with the routes and integrations the program attached to it."""

    id: str
    name: str
    protocol: str  # HTTP | WEBSOCKET
    endpoint: str
    execution_arn: str
    route_selection_expression: str | None = None
    cors: dict[str, Any] | None = None
    routes: dict[str, RouteRecord] = field(default_factory=dict)  # by route key
    integrations: dict[str, IntegrationRecord] = field(default_factory=dict)  # by id
    authorizers: dict[str, AuthorizerRecord] = field(default_factory=dict)  # by id
    stages: dict[str, str] = field(default_factory=dict)  # name -> invoke URL

    def function_of(self, route_key: str) -> str | None:
        """The Lambda (name) a route's `integrations/{id}` target invokes."""
        route = self.routes.get(route_key)
        if route is None or not route.target.startswith("integrations/"):
            return None
        integration = self.integrations.get(route.target.split("/", 1)[1])
        return integration.function_name if integration else None


@dataclass
class RouteRecord:
    route_key: str
    target: str
    authorization_type: str = "NONE"
    authorizer_id: str | None = None


@dataclass
class IntegrationRecord:
    id: str
    integration_type: str
    uri: str
    payload_format_version: str = "1.0"

    @property
    def function_name(self) -> str | None:
        match = re.search(r"function:([^/:]+)", self.uri)
        return match.group(1) if match else None


@dataclass
class AuthorizerRecord:
    id: str
    authorizer_type: str
    identity_sources: list[str]
    issuer: str | None = None
    audiences: list[str] = field(default_factory=list)


@dataclass
class StackRecord:
    """What the program declared, as the local runtime needs it."""

    resources: list[tuple[str, str, str]] = field(default_factory=list)  # (type, logical name, id)
    queues: dict[str, QueueRecord] = field(default_factory=dict)  # by ARN
    buckets: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    topics: dict[str, str] = field(default_factory=dict)  # name -> ARN
    functions: dict[str, FunctionRecord] = field(default_factory=dict)  # by name
    event_sources: list[EventSourceRecord] = field(default_factory=list)
    subscriptions: list[SubscriptionRecord] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)  # what the program exported
    apis: dict[str, ApiRecord] = field(default_factory=dict)  # API Gateway v2, by id
    streams: dict[str, str] = field(default_factory=dict)  # table name -> stream ARN
    schedules: dict[str, ScheduleRecord] = field(default_factory=dict)  # EventBridge rules, by name

    def api(self, protocol: str) -> ApiRecord | None:
        found = [a for a in self.apis.values() if a.protocol == protocol]
        return found[0] if found else None

    def function(self, name_or_arn: str) -> FunctionRecord:
        name = name_or_arn.rsplit(":", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn
        return self.functions[name]

    def queue_by_name(self, name: str) -> QueueRecord:
        for queue in self.queues.values():
            if queue.name == name:
                return queue
        raise KeyError(name)


def _physical_name(inputs: dict[str, Any], logical: str, *keys: str, lower: bool = False) -> str:
    for key in keys:
        if inputs.get(key):
            return str(inputs[key])
    name = re.sub(r"[^A-Za-z0-9-]", "-", logical)[:63].strip("-")
    return name.lower() if lower else name


def _as_json(value: Any) -> dict[str, Any] | None:
    if value in (None, ""):
        return None
    return json.loads(value) if isinstance(value, str) else value


NOT_IN_EMULATOR: dict[str, str] = {
    "aws:lambda/function:Function": "moto would run it in Docker: recorded, the local runtime runs it",
    "aws:lambda/eventSourceMapping:EventSourceMapping": "moto would invoke through Docker: the runtime polls",
    "aws:lambda/permission:Permission": "no function in moto to attach it to; the gateway invokes directly",
    "aws:apigatewayv2/api:Api": "served by the local gateway (embedded/gateway.py) from the record",
    "aws:apigatewayv2/integration:Integration": "served by the local gateway from the record",
    "aws:apigatewayv2/route:Route": "served by the local gateway from the record",
    "aws:apigatewayv2/authorizer:Authorizer": "checked by the local gateway from the record",
    "aws:apigatewayv2/stage:Stage": "served by the local gateway from the record",
    "aws:cloudfront/distribution:Distribution": "no CDN locally: the gateway serves web/ itself",
    "aws:cloudfront/originAccessControl:OriginAccessControl": "no CDN locally",
    "aws:cloudwatch/eventRule:EventRule": "moto holds rules but fires no Lambda target: embedded/schedules.py runs it",
    "aws:cloudwatch/eventTarget:EventTarget": "its rule is run by embedded/schedules.py",
}
"""Every resource type the program declares that the emulator does not hold, and why; nothing else is skipped."""


class UnknownResourceType(RuntimeError):
    """The program declares a type the embedded stack neither creates in moto nor lists as skipped."""


class EmulatorMocks(pulumi.runtime.Mocks):
    """Creates S3, SQS, SNS and DynamoDB resources in moto; records the rest for the runtime."""

    def __init__(self, endpoint: EmulatorEndpoint, gateway_url: str | None = None):
        self.endpoint = endpoint
        self.gateway_url = gateway_url  # the local API Gateway (embedded/gateway.py), when one runs
        self.record = StackRecord()
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    def _client(self, service: str):
        if service not in self._clients:
            self._clients[service] = self.endpoint.client(service)
        return self._clients[service]

    # -- pulumi.runtime.Mocks ------------------------------------------------------------------

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/local", "userId": "local"}, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": REGION, "region": REGION, "id": REGION}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        return {}, []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        with self._lock:
            creator = getattr(self, "_create_" + args.typ.rsplit(":", 1)[-1], None)
            inputs = revealed(dict(args.inputs))
            if args.typ.startswith("aws:") and creator is None and args.typ not in NOT_IN_EMULATOR:
                raise UnknownResourceType(
                    f"the embedded stack does not know {args.typ} ({args.name}): give embedded/mocks.py a creator "
                    "for it, or a line in NOT_IN_EMULATOR saying why the emulator cannot hold it"
                )
            if creator is not None and args.typ.startswith("aws:"):
                resource_id, outputs = creator(args.name, inputs)
            else:
                resource_id = _physical_name(inputs, args.name, "name")
                outputs = {"arn": f"arn:aws:mock:{REGION}:{ACCOUNT_ID}:{resource_id}"}
            self.record.resources.append((args.typ, args.name, resource_id))
            return resource_id, {**inputs, **outputs}

    # -- creators, one per type the program uses --------------------------------------------------

    def _create_Bucket(self, logical: str, inputs: dict[str, Any]):
        name = _physical_name(inputs, logical, "bucket", lower=True)
        self._client("s3").create_bucket(Bucket=name)
        self.record.buckets.append(name)
        return name, {
            "bucket": name,
            "arn": f"arn:aws:s3:::{name}",
            "bucketDomainName": f"{name}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
            "region": REGION,
        }

    def _create_BucketNotification(self, logical: str, inputs: dict[str, Any]):
        configs = []
        for queue in inputs.get("queues") or []:
            rules = [
                {"Name": name, "Value": queue[key]}
                for name, key in (("prefix", "filterPrefix"), ("suffix", "filterSuffix"))
                if queue.get(key)
            ]
            config = {"QueueArn": queue["queueArn"], "Events": list(queue["events"])}
            if rules:
                config["Filter"] = {"Key": {"FilterRules": rules}}
            configs.append(config)
        self._client("s3").put_bucket_notification_configuration(
            Bucket=inputs["bucket"], NotificationConfiguration={"QueueConfigurations": configs}
        )
        return f"{inputs['bucket']}-notification", {}

    def _create_BucketCorsConfiguration(self, logical: str, inputs: dict[str, Any]):
        rules = [
            {
                "AllowedMethods": list(rule.get("allowedMethods", [])),
                "AllowedOrigins": list(rule.get("allowedOrigins", [])),
                "AllowedHeaders": list(rule.get("allowedHeaders", []) or []),
                "ExposeHeaders": list(rule.get("exposeHeaders", []) or []),
                "MaxAgeSeconds": int(rule.get("maxAgeSeconds", 0) or 0),
            }
            for rule in inputs.get("corsRules") or []
        ]
        self._client("s3").put_bucket_cors(Bucket=inputs["bucket"], CORSConfiguration={"CORSRules": rules})
        return f"{inputs['bucket']}-cors", {}

    def _create_BucketPublicAccessBlock(self, logical: str, inputs: dict[str, Any]):
        settings = {
            name: bool(inputs.get(key, False))
            for name, key in (
                ("BlockPublicAcls", "blockPublicAcls"),
                ("IgnorePublicAcls", "ignorePublicAcls"),
                ("BlockPublicPolicy", "blockPublicPolicy"),
                ("RestrictPublicBuckets", "restrictPublicBuckets"),
            )
        }
        self._client("s3").put_public_access_block(Bucket=inputs["bucket"], PublicAccessBlockConfiguration=settings)
        return f"{inputs['bucket']}-public-access", {}

    def _create_BucketServerSideEncryptionConfiguration(self, logical: str, inputs: dict[str, Any]):
        rules = []
        for rule in inputs.get("rules") or []:
            default = rule.get("applyServerSideEncryptionByDefault") or {}
            by_default = {"SSEAlgorithm": default.get("sseAlgorithm", "AES256")}
            if default.get("kmsMasterKeyId"):
                by_default["KMSMasterKeyID"] = default["kmsMasterKeyId"]
            bucket_key = bool(rule.get("bucketKeyEnabled"))
            rules.append({"ApplyServerSideEncryptionByDefault": by_default, "BucketKeyEnabled": bucket_key})
        self._client("s3").put_bucket_encryption(
            Bucket=inputs["bucket"], ServerSideEncryptionConfiguration={"Rules": rules}
        )
        return f"{inputs['bucket']}-sse", {}

    def _create_BucketPolicy(self, logical: str, inputs: dict[str, Any]):
        policy = inputs["policy"]
        self._client("s3").put_bucket_policy(
            Bucket=inputs["bucket"], Policy=policy if isinstance(policy, str) else json.dumps(policy)
        )
        return f"{inputs['bucket']}-policy", {}

    def _create_BucketLifecycleConfiguration(self, logical: str, inputs: dict[str, Any]):
        rules = []
        for rule in inputs.get("rules") or []:
            lifecycle: dict[str, Any] = {
                "ID": rule["id"],
                "Status": rule.get("status", "Enabled"),
                "Filter": {"Prefix": (rule.get("filter") or {}).get("prefix", "")},
            }
            if (rule.get("expiration") or {}).get("days"):
                lifecycle["Expiration"] = {"Days": int(rule["expiration"]["days"])}
            if (rule.get("abortIncompleteMultipartUpload") or {}).get("daysAfterInitiation"):
                days = int(rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"])
                lifecycle["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
            rules.append(lifecycle)
        self._client("s3").put_bucket_lifecycle_configuration(
            Bucket=inputs["bucket"], LifecycleConfiguration={"Rules": rules}
        )
        return f"{inputs['bucket']}-lifecycle", {}

    def _create_BucketObjectv2(self, logical: str, inputs: dict[str, Any]):
        body = inputs.get("content")
        source = inputs.get("source")
        if body is None and source is not None:
            path = getattr(source, "path", None) or (source.get("path") if isinstance(source, dict) else None)
            body = Path(path).read_bytes()
        extra = {"ContentType": inputs["contentType"]} if inputs.get("contentType") else {}
        if inputs.get("cacheControl"):
            extra["CacheControl"] = inputs["cacheControl"]
        put = self._client("s3").put_object(Bucket=inputs["bucket"], Key=inputs["key"], Body=body or b"", **extra)
        return f"{inputs['bucket']}/{inputs['key']}", {"etag": put.get("ETag", "").strip('"'), "versionId": ""}

    def _create_Queue(self, logical: str, inputs: dict[str, Any]):
        name = _physical_name(inputs, logical, "name")
        attributes = {
            "VisibilityTimeout": str(int(inputs.get("visibilityTimeoutSeconds", 30))),
            "MessageRetentionPeriod": str(int(inputs.get("messageRetentionSeconds", 345600))),
            "DelaySeconds": str(int(inputs.get("delaySeconds", 0))),
            "ReceiveMessageWaitTimeSeconds": str(int(inputs.get("receiveWaitTimeSeconds", 0))),
        }
        redrive = _as_json(inputs.get("redrivePolicy"))
        if redrive:
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": redrive["deadLetterTargetArn"],
                    "maxReceiveCount": int(redrive["maxReceiveCount"]),
                }
            )
        url = self._client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"
        self.record.queues[arn] = QueueRecord(
            name=name,
            url=url,
            arn=arn,
            visibility_timeout_s=int(attributes["VisibilityTimeout"]),
            redrive_policy=redrive,
        )
        return url, {"arn": arn, "url": url, "name": name}

    def _create_QueuePolicy(self, logical: str, inputs: dict[str, Any]):
        policy = inputs["policy"]
        self._client("sqs").set_queue_attributes(
            QueueUrl=inputs["queueUrl"],
            Attributes={"Policy": policy if isinstance(policy, str) else json.dumps(policy)},
        )
        return f"{inputs['queueUrl']}-policy", {}

    def _create_Topic(self, logical: str, inputs: dict[str, Any]):
        name = _physical_name(inputs, logical, "name")
        arn = self._client("sns").create_topic(Name=name)["TopicArn"]
        self.record.topics[name] = arn
        return arn, {"arn": arn, "name": name}

    def _create_TopicSubscription(self, logical: str, inputs: dict[str, Any]):
        protocol = inputs["protocol"]
        raw = str(inputs.get("rawMessageDelivery", False)).lower() == "true"
        filter_policy = _as_json(inputs.get("filterPolicy"))
        if protocol == "sqs":
            attributes = {"RawMessageDelivery": "true" if raw else "false"}
            if filter_policy:
                attributes["FilterPolicy"] = json.dumps(filter_policy)
            arn = self._client("sns").subscribe(
                TopicArn=inputs["topic"], Protocol="sqs", Endpoint=inputs["endpoint"], Attributes=attributes
            )["SubscriptionArn"]
        else:
            arn = f"{inputs['topic']}:{logical}"
            self.record.subscriptions.append(
                SubscriptionRecord(
                    arn=arn,
                    topic_arn=inputs["topic"],
                    protocol=protocol,
                    endpoint=inputs["endpoint"],
                    raw_message_delivery=raw,
                    filter_policy=filter_policy,
                )
            )
        return arn, {"arn": arn}

    def _create_Table(self, logical: str, inputs: dict[str, Any]):
        name = _physical_name(inputs, logical, "name")
        key_schema = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
        if inputs.get("rangeKey"):
            key_schema.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
        definitions = [{"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]]
        extra: dict[str, Any] = {}
        indexes = [
            {
                "IndexName": index["name"],
                # `keySchemas` (pulumi-aws 7) or the older hashKey/rangeKey pair
                "KeySchema": [
                    {"AttributeName": k["attributeName"], "KeyType": k["keyType"]} for k in index["keySchemas"]
                ]
                if index.get("keySchemas")
                else [{"AttributeName": index["hashKey"], "KeyType": "HASH"}]
                + ([{"AttributeName": index["rangeKey"], "KeyType": "RANGE"}] if index.get("rangeKey") else []),
                "Projection": {"ProjectionType": index.get("projectionType", "ALL")},
            }
            for index in inputs.get("globalSecondaryIndexes") or []
        ]
        if indexes:
            extra["GlobalSecondaryIndexes"] = indexes
        if inputs.get("streamEnabled"):
            extra["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": inputs.get("streamViewType") or "NEW_AND_OLD_IMAGES",
            }
        table = self._client("dynamodb").create_table(
            TableName=name,
            KeySchema=key_schema,
            AttributeDefinitions=definitions,
            BillingMode="PAY_PER_REQUEST",
            **extra,
        )["TableDescription"]
        self.record.tables.append(name)
        ttl = inputs.get("ttl") or {}
        if ttl.get("enabled") and ttl.get("attributeName"):
            self._client("dynamodb").update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]}
            )
        if (inputs.get("pointInTimeRecovery") or {}).get("enabled"):
            self._client("dynamodb").update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        outputs = {"arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}", "name": name}
        if table.get("LatestStreamArn"):
            outputs |= {"streamArn": table["LatestStreamArn"], "streamLabel": table.get("LatestStreamLabel", "")}
            self.record.streams[name] = table["LatestStreamArn"]
        return name, outputs

    def _create_Function(self, logical: str, inputs: dict[str, Any]):
        name = _physical_name(inputs, logical, "name")
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
        variables = (inputs.get("environment") or {}).get("variables") or {}
        self.record.functions[name] = FunctionRecord(
            name=name,
            arn=arn,
            handler=inputs["handler"],
            environment={k: str(v) for k, v in variables.items()},
            timeout=int(inputs.get("timeout", 3)),
            memory_mb=int(inputs.get("memorySize", 128)),
        )
        invoke_arn = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"
        return name, {"arn": arn, "name": name, "invokeArn": invoke_arn, "qualifiedArn": f"{arn}:$LATEST"}

    def _create_EventSourceMapping(self, logical: str, inputs: dict[str, Any]):
        scaling = inputs.get("scalingConfig") or {}
        spec = EventSourceRecord(
            queue_arn=inputs["eventSourceArn"],
            function_name=inputs["functionName"],
            batch_size=int(inputs.get("batchSize", 10)),
            batching_window_s=float(inputs.get("maximumBatchingWindowInSeconds", 0)),
            report_batch_item_failures="ReportBatchItemFailures" in (inputs.get("functionResponseTypes") or []),
            max_concurrency=int(scaling["maximumConcurrency"]) if scaling.get("maximumConcurrency") else None,
            starting_position=inputs.get("startingPosition"),
            maximum_retry_attempts=int(inputs.get("maximumRetryAttempts", -1)),
            maximum_record_age_s=int(inputs.get("maximumRecordAgeInSeconds", -1)),
            bisect_on_error=bool(inputs.get("bisectBatchOnFunctionError", False)),
            on_failure_arn=((inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destinationArn"),
            filter_patterns=[
                json.loads(f["pattern"]) for f in (inputs.get("filterCriteria") or {}).get("filters") or []
            ],
        )
        self.record.event_sources.append(spec)
        return f"esm-{logical}", {"uuid": f"esm-{logical}", "functionArn": spec.function_name}

    def _create_EventRule(self, logical: str, inputs: dict[str, Any]):
        name = _physical_name(inputs, logical, "name")
        arn = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{name}"
        if inputs.get("scheduleExpression"):
            self.record.schedules[name] = ScheduleRecord(name=name, arn=arn, expression=inputs["scheduleExpression"])
        return name, {"arn": arn, "name": name}

    def _create_EventTarget(self, logical: str, inputs: dict[str, Any]):
        schedule = self.record.schedules.get(inputs["rule"])
        if schedule is not None:
            schedule.function_arn = inputs["arn"]
        return f"{inputs['rule']}-{logical}", {}

    def _create_Secret(self, logical: str, inputs: dict[str, Any]):
        name = inputs.get("name") or f"{inputs.get('namePrefix') or logical}{uuid.uuid4().hex[:8]}"
        created = self._client("secretsmanager").create_secret(Name=name, Description=inputs.get("description", ""))
        return created["ARN"], {"arn": created["ARN"], "name": name}

    def _create_SecretVersion(self, logical: str, inputs: dict[str, Any]):
        value = inputs.get("secretString")
        if isinstance(value, dict):  # a secret Output arrives wrapped in the mock monitor
            value = value.get("value")
        version = self._client("secretsmanager").put_secret_value(
            SecretId=inputs["secretId"], SecretString=str(value or "")
        )
        resource_id = f"{inputs['secretId']}|{version['VersionId']}"
        return resource_id, {"versionId": version["VersionId"], "arn": version["ARN"]}

    def _create_Role(self, logical: str, inputs: dict[str, Any]):
        name = _physical_name(inputs, logical, "name")[:64]
        trust = inputs.get("assumeRolePolicy") or "{}"
        role = self._client("iam").create_role(
            RoleName=name,
            AssumeRolePolicyDocument=trust if isinstance(trust, str) else json.dumps(trust),
            Description=inputs.get("description", ""),
        )["Role"]
        return name, {"arn": role["Arn"], "name": name, "uniqueId": role["RoleId"]}

    def _create_RolePolicy(self, logical: str, inputs: dict[str, Any]):
        name = _physical_name(inputs, logical, "name")[:128]
        policy = inputs["policy"]
        self._client("iam").put_role_policy(
            RoleName=inputs["role"],
            PolicyName=name,
            PolicyDocument=policy if isinstance(policy, str) else json.dumps(policy),
        )
        return f"{inputs['role']}:{name}", {"name": name}

    def _create_LogGroup(self, logical: str, inputs: dict[str, Any]):
        name = _physical_name(inputs, logical, "name")
        logs = self._client("logs")
        logs.create_log_group(logGroupName=name)
        if inputs.get("retentionInDays"):
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(inputs["retentionInDays"]))
        return name, {"arn": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}", "name": name}

    def _create_MetricAlarm(self, logical: str, inputs: dict[str, Any]):
        name = _physical_name(inputs, logical, "name")
        alarm: dict[str, Any] = {
            "AlarmName": name,
            "AlarmDescription": inputs.get("alarmDescription", ""),
            "Namespace": inputs["namespace"],
            "MetricName": inputs["metricName"],
            "Statistic": inputs["statistic"],
            "Period": int(inputs["period"]),
            "EvaluationPeriods": int(inputs["evaluationPeriods"]),
            "Threshold": float(inputs["threshold"]),
            "ComparisonOperator": inputs["comparisonOperator"],
            "TreatMissingData": inputs.get("treatMissingData", "missing"),
            "AlarmActions": list(inputs.get("alarmActions") or []),
            "OKActions": list(inputs.get("okActions") or []),
            "Dimensions": [{"Name": k, "Value": str(v)} for k, v in (inputs.get("dimensions") or {}).items()],
        }
        self._client("cloudwatch").put_metric_alarm(**alarm)
        return name, {"arn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:{name}", "name": name}

    # -- API Gateway v2: recorded for the local gateway (embedded/gateway.py), which serves them ------

    def _api_id(self, logical: str) -> str:
        import hashlib

        return hashlib.sha256(logical.encode()).hexdigest()[:10]

    def _create_Api(self, logical: str, inputs: dict[str, Any]):
        api_id = self._api_id(logical)
        protocol = inputs.get("protocolType", "HTTP")
        if self.gateway_url:  # one local host serves every API, as execute-api does per API
            host = self.gateway_url.split("://", 1)[1].rstrip("/")
            endpoint = f"{'ws' if protocol == 'WEBSOCKET' else 'http'}://{host}"
        else:
            endpoint = f"{'wss' if protocol == 'WEBSOCKET' else 'https'}://{api_id}.execute-api.{REGION}.amazonaws.com"
        execution_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}"
        self.record.apis[api_id] = ApiRecord(
            id=api_id,
            name=_physical_name(inputs, logical, "name"),
            protocol=protocol,
            endpoint=endpoint,
            execution_arn=execution_arn,
            route_selection_expression=inputs.get("routeSelectionExpression"),
            cors=inputs.get("corsConfiguration"),
        )
        return api_id, {
            "apiEndpoint": endpoint,
            "executionArn": execution_arn,
            "arn": f"arn:aws:apigateway:{REGION}::/apis/{api_id}",
        }

    def _create_Integration(self, logical: str, inputs: dict[str, Any]):
        integration_id = self._api_id(logical)[:7]
        self.record.apis[inputs["apiId"]].integrations[integration_id] = IntegrationRecord(
            id=integration_id,
            integration_type=inputs.get("integrationType", "AWS_PROXY"),
            uri=inputs.get("integrationUri", ""),
            payload_format_version=inputs.get("payloadFormatVersion") or "1.0",
        )
        return integration_id, {}

    def _create_Route(self, logical: str, inputs: dict[str, Any]):
        route = RouteRecord(
            route_key=inputs["routeKey"],
            target=inputs.get("target") or "",
            authorization_type=inputs.get("authorizationType") or "NONE",
            authorizer_id=inputs.get("authorizerId"),
        )
        self.record.apis[inputs["apiId"]].routes[route.route_key] = route
        return self._api_id(logical)[:7], {}

    def _create_Authorizer(self, logical: str, inputs: dict[str, Any]):
        authorizer_id = self._api_id(logical)[:6]
        jwt = inputs.get("jwtConfiguration") or {}
        self.record.apis[inputs["apiId"]].authorizers[authorizer_id] = AuthorizerRecord(
            id=authorizer_id,
            authorizer_type=inputs.get("authorizerType", "JWT"),
            identity_sources=list(inputs.get("identitySources") or []),
            issuer=jwt.get("issuer"),
            audiences=list(jwt.get("audiences") or []),
        )
        return authorizer_id, {}

    def _create_Stage(self, logical: str, inputs: dict[str, Any]):
        api = self.record.apis[inputs["apiId"]]
        name = inputs["name"]
        invoke_url = api.endpoint if name == "$default" else f"{api.endpoint}/{name}"
        api.stages[name] = invoke_url
        return f"{api.id}-{name}", {"invokeUrl": invoke_url, "executionArn": f"{api.execution_arn}/{name}"}

    def _create_Distribution(self, logical: str, inputs: dict[str, Any]):
        # no CDN locally: the gateway serves web/ itself; give the outputs the program reads
        distribution_id = self._api_id(logical)[:13].upper()
        host = f"{distribution_id}.cloudfront.net"
        if self.gateway_url:
            host = self.gateway_url.split("://", 1)[1].rstrip("/")
        return distribution_id, {
            "domainName": host,
            "arn": f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{distribution_id}",
        }
