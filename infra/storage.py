"""`PrivateBucket`: the one way the stack makes an S3 bucket, so no bucket is ever public or plain-text."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

UPLOAD_PREFIX = "uploads/"
RESULTS_PREFIX = "results/"


@dataclass(frozen=True)
class Expiry:
    prefix: str
    days: int


class PrivateBucket(pulumi.ComponentResource):
    """An S3 bucket nobody reaches except through IAM over TLS: public access blocked, encrypted
    at rest (AES256, or KMS when a key is given), and a policy denying non-TLS requests."""

    bucket: aws.s3.Bucket

    def __init__(
        self,
        name: str,
        *,
        force_destroy: bool = False,
        kms_key_arn: str | None = None,
        cors_rules: Sequence[aws.s3.BucketCorsConfigurationCorsRuleArgs] = (),
        expiry: Expiry | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("bookimg:storage:PrivateBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(name, force_destroy=force_destroy, opts=child)
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm="aws:kms" if kms_key_arn else "AES256",
            kms_master_key_id=kms_key_arn,
        )
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-sse",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=default,
                    bucket_key_enabled=bool(kms_key_arn) or None,
                )
            ],
            opts=child,
        )
        self.policy = aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(_tls_only_policy),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )
        if cors_rules:
            aws.s3.BucketCorsConfiguration(
                f"{name}-cors", bucket=self.bucket.id, cors_rules=list(cors_rules), opts=child
            )
        if expiry:
            aws.s3.BucketLifecycleConfiguration(
                f"{name}-lifecycle",
                bucket=self.bucket.id,
                rules=[
                    aws.s3.BucketLifecycleConfigurationRuleArgs(
                        id=f"expire-{expiry.prefix.strip('/') or 'all'}",
                        status="Enabled",
                        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=expiry.prefix),
                        expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expiry.days),
                        abort_incomplete_multipart_upload=(
                            aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                                days_after_initiation=1
                            )
                        ),
                    )
                ],
                opts=child,
            )
        self.register_outputs({"bucket": self.bucket.id, "arn": self.bucket.arn})


def _tls_only_policy(bucket_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )
