#!/usr/bin/env python3
"""Every object the instances wrote to the bucket was written exactly once.

The bucket has versioning on (.ci/scale-out turns it on before the instances start), so an
object written twice, by two instances or by one twice, has two versions. Three instances
start at once and are restarted: each runs the export job at its start, and the export
lease with the days recorded in the database must let exactly one write each object. The
download answers the instances share (`prebuilt/`, see crates/server/src/prebuilt.rs) are
put with a conditional put (If-None-Match: *): whichever instance builds one first writes
it, the others read it.
Reads the S3 settings from the AWS_* variables.
"""

import collections
import os
import sys

import boto3

BUCKET = "openstopcovid-exports"

s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT"])
versions = collections.Counter()
sizes = {}
for page in s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
    for version in page.get("Versions", []):
        versions[version["Key"]] += 1
        sizes[version["Key"]] = version["Size"]
objects = dict(versions)
for key in sorted(versions):
    print(f"  {key}: {versions[key]} version(s), {sizes[key]} bytes")
if not objects:
    sys.exit("no object was written to the bucket")
shared = [key for key in objects if "prebuilt/" in key]
if not shared:
    sys.exit("no download answer was shared through the bucket (prebuilt/)")
print(f"{len(shared)} download answers shared through the bucket")
twice = {key: count for key, count in objects.items() if count != 1}
if twice:
    sys.exit(f"objects written more than once: {twice}")
print(f"{len(objects)} objects on S3, each written once")
