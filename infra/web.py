"""`WebSite`: the static page (web/) in a private S3 bucket, served by CloudFront through an Origin
Access Control, with a `config.json` beside it naming the HTTP API and WebSocket URLs and the job's steps
(models/stages.py), which the page lists.

The bucket is reachable only by this distribution (bucket policy on `AWS:SourceArn`) and only over TLS.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.config import BookImgConfig
from models.stages import page_steps

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
WEB_FILES = ("index.html", "app.js", "review.js", "style.css")
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # AWS managed cache policy
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # AWS managed cache policy


def web_bucket_policy(bucket_arn: str, distribution_arn: str) -> str:
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
                },
                {
                    "Sid": "CloudFrontReadsThroughOAC",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": f"{bucket_arn}/*",
                    "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
                },
            ],
        }
    )


def page_config(api_url: str, websocket_url: str, max_upload_bytes: int) -> str:
    """What web/app.js reads at start (config.json, here and on the embedded stack): where the API and the
    WebSocket are, the upload limit and the job's steps."""
    return json.dumps(
        {
            "api_url": api_url,
            "websocket_url": websocket_url,
            "max_upload_bytes": max_upload_bytes,
            "steps": page_steps(),
        }
    )


class WebSite(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    distribution: aws.cloudfront.Distribution
    url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        cfg: BookImgConfig,
        api_url: pulumi.Input[str],
        websocket_url: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("bookimg:edge:WebSite", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(name, force_destroy=True, opts=child)
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-sse",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=(
                        aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                            sse_algorithm="AES256"  # CloudFront OAC reads SSE-S3 without a KMS grant
                        )
                    )
                )
            ],
            opts=child,
        )
        self.oac = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            name=f"{name}-oac",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        origin_id = "web-bucket"
        self.distribution = aws.cloudfront.Distribution(
            f"{name}-cdn",
            enabled=True,
            comment="BookImg web page",
            default_root_object="index.html",
            price_class="PriceClass_100",
            http_version="http2and3",
            origins=[
                aws.cloudfront.DistributionOriginArgs(
                    origin_id=origin_id,
                    domain_name=self.bucket.bucket_regional_domain_name,
                    origin_access_control_id=self.oac.id,
                )
            ],
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id=origin_id,
                viewer_protocol_policy="redirect-to-https",
                allowed_methods=["GET", "HEAD"],
                cached_methods=["GET", "HEAD"],
                cache_policy_id=CACHING_OPTIMIZED,
                compress=True,
            ),
            ordered_cache_behaviors=[
                # endpoints change with a redeploy: never serve a stale config.json
                aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                    path_pattern="/config.json",
                    target_origin_id=origin_id,
                    viewer_protocol_policy="redirect-to-https",
                    allowed_methods=["GET", "HEAD"],
                    cached_methods=["GET", "HEAD"],
                    cache_policy_id=CACHING_DISABLED,
                    compress=True,
                )
            ],
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(restriction_type="none")
            ),
            viewer_certificate=aws.cloudfront.DistributionViewerCertificateArgs(cloudfront_default_certificate=True),
            opts=child,
        )
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.all(self.bucket.arn, self.distribution.arn).apply(
                lambda arns: web_bucket_policy(arns[0], arns[1])
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )
        self.objects = [
            aws.s3.BucketObjectv2(
                f"{name}-{filename.replace('.', '-')}",
                bucket=self.bucket.id,
                key=filename,
                source=pulumi.FileAsset(str(WEB_DIR / filename)),
                content_type=(mimetypes.guess_type(filename)[0] or "application/octet-stream") + "; charset=utf-8",
                cache_control="no-cache",
                opts=child,
            )
            for filename in WEB_FILES
        ]
        self.config_object = aws.s3.BucketObjectv2(
            f"{name}-config-json",
            bucket=self.bucket.id,
            key="config.json",
            content=pulumi.Output.all(api_url, websocket_url).apply(
                lambda urls: page_config(urls[0], urls[1], cfg.max_upload_bytes)
            ),
            content_type="application/json",
            cache_control="no-store",
            opts=child,
        )
        self.url = pulumi.Output.concat("https://", self.distribution.domain_name)
        self.register_outputs({"url": self.url, "bucket": self.bucket.id})
