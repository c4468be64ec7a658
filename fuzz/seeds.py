#!/usr/bin/env python3
"""Builds the fuzz targets' starting corpora from real records: the repo's samples and the
shared corpus beside the project (Panther's rule tests, attack-simulation logs). The corpora
are made, not committed (fuzz/.gitignore). Usage: python3 fuzz/seeds.py"""
import gzip
import hashlib
import json
import os
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
SAMPLES = HERE.parent / "samples" / "cloudtrail"
SHARED = HERE.parent.parent / "shared" / "corpus"


def put(target, data):
    folder = HERE / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def records():
    for path in sorted(SAMPLES.glob("*.json.gz")):
        yield from json.loads(gzip.decompress(path.read_bytes()))["Records"][:20]
    panther = SHARED / "panther" / "tests.jsonl"
    if panther.exists():
        for line in panther.read_text().splitlines():
            record = json.loads(line).get("record")
            if isinstance(record, dict):
                yield record


def main():
    count = 0
    for record in records():
        compact = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
        put("document", compact)
        # The framing target's first byte is its chunk size.
        put("framing", bytes([count % 64]) + b'{"Records":[' + compact + b"]}")
        put("framing", bytes([count % 7]) + json.dumps(record, indent=2).encode() + b"\n")
        # The body target takes what AWS delivers: a log file, an EventBridge event, SNS.
        event = {"version": "0", "id": str(count), "detail-type": "AWS API Call via CloudTrail",
                 "source": "aws.iam", "detail": record}
        shapes = [b'{"Records":[' + compact + b"]}", json.dumps(event).encode(),
                  json.dumps({"Records": [{"Sns": {"Message": json.dumps(event)}}]}).encode()]
        put("body", shapes[count % 3])
        if count % 10 == 0:
            put("body", gzip.compress(shapes[0], mtime=0))
        if count % 5 == 0:
            # A rule-like pattern on the head fields and others, with the event it was made from.
            detail = {"eventName": [record.get("eventName")], "requestParameters": {"userName": [{"exists": True}]},
                      "userIdentity": {"type": [{"anything-but": "AWSService"}]}}
            put("pattern", (json.dumps({"source": ["aws.iam"], "detail": detail}) + "\n" + json.dumps(event)).encode())
        count += 1
    # S3 object notifications name log files instead of holding them: an S3 event, and
    # CloudTrail's own notice of files delivered, bare and as its SNS topic sends it.
    s3_event = {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                             "s3": {"bucket": {"name": "trail"}, "object": {"key": "AWSLogs/1/a+b%2Fc.json.gz"}}}]}
    notice = {"s3Bucket": "trail", "s3ObjectKey": ["AWSLogs/1/CloudTrail/x.json.gz", "AWSLogs/1/y.json.gz"]}
    sns = {"Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": json.dumps(notice)}
    for shape in (s3_event, notice, sns):
        put("body", json.dumps(shape).encode())
    raw = SHARED / "raw_logs"
    for path in sorted(raw.rglob("*.json")) if raw.exists() else []:
        data = path.read_bytes()
        if len(data) <= 64 * 1024:
            put("framing", bytes([len(data) % 251]) + data)
            put("body", data)
    # The pattern target: a pattern on the first line, an event after it (EventBridge's
    # conformance vectors, matching and not).
    cases = SHARED / "eventpattern" / "cases.jsonl"
    for line in cases.read_text().splitlines() if cases.exists() else []:
        case = json.loads(line)
        if "pattern" in case and "event" in case:
            put("pattern", (json.dumps(case["pattern"]) + "\n" + json.dumps(case["event"])).encode())
    # The rules target: the rule pack's rules one document each, and SigmaHQ's CloudTrail rules.
    for path in sorted((HERE.parent / "rules").rglob("*.yml")):
        for document in path.read_text().split("\n---\n"):
            if document.strip():
                put("rules", document.encode())
    sigma = SHARED / "sigma_aws"
    for path in sorted(sigma.rglob("*.yml")) if sigma.exists() else []:
        put("rules", path.read_bytes())
    # Rules of steps, as a rule file writes them and as a Sigma temporal correlation makes
    # them, with steps the target's fixed records match.
    put("rules", b"""id: fuzz.steps
title: {en: Steps, ko: Steps}
description: {en: d, ko: d}
severity: HIGH
pattern: {detail: {eventName: [{exists: true}]}}
dedup: "{detail.userIdentity.arn}"
threshold:
  window: 10m
  steps:
    - name: change
      pattern: {detail: {eventSource: [iam.amazonaws.com]}}
      conditions: [{fields_differ: [detail.requestParameters.userName, detail.userIdentity.userName]}]
    - {name: sign_in, pattern: {detail: {eventName: [ConsoleLogin], responseElements: {ConsoleLogin: [Failure]}}}}
    - {name: denied, pattern: {detail: {errorCode: [{prefix: Access}]}}}
""")
    put("rules", b"""title: policy written
name: written
logsource: {product: aws, service: cloudtrail}
detection:
    selection: {eventName: PutUserPolicy, requestParameters.policyDocument|contains: '"*"'}
    condition: selection
---
title: root failed
name: failed
logsource: {product: aws, service: cloudtrail}
detection:
    selection: {eventName: ConsoleLogin, userIdentity.type: Root}
    filter: {userAgent|re: '(?i)kali'}
    condition: selection and not filter
---
title: both
correlation: {type: temporal, rules: [written, failed], group-by: [awsRegion], timespan: 1h}
level: high
""")
    print(f"{count} records seeded into {HERE / 'corpus'}")


if __name__ == "__main__":
    main()
