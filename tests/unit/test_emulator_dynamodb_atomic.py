"""The embedded emulator applies DynamoDB requests to an item one at a time, as DynamoDB does."""

from __future__ import annotations

import concurrent.futures

import boto3
from botocore.config import Config

from tests.fakes.fixtures import FAKE_AWS


def test_concurrent_updates_returning_the_whole_item_never_fail(moto_server):
    ddb = boto3.client("dynamodb", endpoint_url=moto_server, config=Config(retries={"max_attempts": 1}), **FAKE_AWS)
    ddb.create_table(
        TableName="atomic", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )
    big = {f"field{i}": {"M": {"text": {"S": "x" * 50}, "n": {"N": str(i)}}} for i in range(300)}
    ddb.put_item(TableName="atomic", Item={"pk": {"S": "job"}, "marks": {"M": {}}, **big})

    def mark(i: int) -> int:
        response = ddb.update_item(
            TableName="atomic", Key={"pk": {"S": "job"}}, UpdateExpression="SET marks.#m = :v, #a = :v",
            ExpressionAttributeNames={"#m": f"m{i}", "#a": f"a{i}"},
            ExpressionAttributeValues={":v": {"N": str(i)}}, ReturnValues="ALL_NEW",
        )
        return len(response["Attributes"]["marks"]["M"])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        sizes = list(pool.map(mark, range(400)))

    assert max(sizes) == 400  # every update landed, and none was answered with a 500 (no retries allowed)
    assert len(ddb.get_item(TableName="atomic", Key={"pk": {"S": "job"}})["Item"]) == 702
