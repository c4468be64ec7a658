#!/usr/bin/env python3
"""Benchmark baseline: a seed-style Python handler looping over records one at a time.

For each CloudTrail log file: gunzip, json.load, then per record the checks a hand-written
Lambda makes (IAM source, read-only, skip list, root, sign-in) and an incident dict for the
matches. Prints "<records> <seconds>". Usage: python_loop.py DIR [MAX_FILES]
"""
import gzip
import json
import os
import sys
import time

SKIP = {"CreateAccessKey"}


def handle(record):
    source = record.get("eventSource", "")
    name = record.get("eventName", "")
    identity = record.get("userIdentity") or {}
    is_root = identity.get("type") == "Root"
    if source == "iam.amazonaws.com" and not record.get("readOnly", False) and name not in SKIP:
        pass
    elif source == "signin.amazonaws.com" or is_root:
        pass
    else:
        return None
    request = record.get("requestParameters") or {}
    return {
        "event_id": record.get("eventID"),
        "event_name": name,
        "resource": request.get("accessKeyId") or request.get("userName") or record.get("eventID"),
        "severity": "HIGH" if is_root else "MEDIUM",
        "meta": {"ip": record.get("sourceIPAddress"), "ua": record.get("userAgent"), "api": name},
    }


def main():
    directory = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else None
    paths = sorted(os.path.join(directory, name) for name in os.listdir(directory) if name.endswith(".json.gz"))[:limit]
    started = time.perf_counter()
    records = 0
    incidents = 0
    for path in paths:
        with gzip.open(path, "rb") as stream:
            for record in json.load(stream)["Records"]:
                records += 1
                if handle(record) is not None:
                    incidents += 1
    print(records, f"{time.perf_counter() - started:.3f}")


if __name__ == "__main__":
    main()
