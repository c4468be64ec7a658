#!/usr/bin/env python3
"""Benchmark baseline: the seed's per-event handler, as a Python loop over CloudTrail files.

The seed's Lambda normalised every event it was given before deciding: ISO time to epoch ms,
readable service name, English/Korean label, target resource, meta (device, IP, API, access
key), then severity and the skip list. This loop does the same for every record. It is a
baseline to compare against, not iamwatch. Prints "<records> <seconds>".
Usage: python_seed_loop.py DIR [MAX_FILES]
"""
import gzip
import json
import os
import sys
import time
from datetime import datetime

SERVICES = {"iam.amazonaws.com": "IAM", "signin.amazonaws.com": "Sign-In", "sts.amazonaws.com": "STS",
            "cloudtrail.amazonaws.com": "CloudTrail", "ec2.amazonaws.com": "EC2", "s3.amazonaws.com": "S3",
            "kms.amazonaws.com": "KMS", "lambda.amazonaws.com": "Lambda"}
LABELS = {"CreateAccessKey": ("Create access key", "액세스 키 생성"), "DeleteAccessKey": ("Delete access key", "액세스 키 삭제"),
          "UpdateAccessKey": ("Update access key", "액세스 키 상태 변경"), "CreateUser": ("Create user", "사용자 생성"),
          "DeleteUser": ("Delete user", "사용자 삭제"), "DeactivateMFADevice": ("Deactivate MFA device", "MFA 디바이스 비활성화"),
          "DeleteVirtualMFADevice": ("Delete virtual MFA device", "가상 MFA 디바이스 삭제"),
          "CreateLoginProfile": ("Create login profile", "로그인 프로필 생성"), "UpdateLoginProfile": ("Update login profile", "로그인 프로필 변경"),
          "ChangePassword": ("Change password", "비밀번호 변경"), "AttachUserPolicy": ("Attach user policy", "사용자 정책 연결"),
          "PutUserPolicy": ("Put user policy", "사용자 인라인 정책 설정"), "ConsoleLogin": ("Console sign-in", "콘솔 로그인")}
TARGET_KEYS = ("accessKeyId", "serialNumber", "sSHPublicKeyId", "certificateId", "policyArn", "roleName", "groupName", "userName")
HIGH = {"DeactivateMFADevice", "DeleteVirtualMFADevice", "CreateLoginProfile", "UpdateLoginProfile", "DeleteLoginProfile",
        "ChangePassword", "UpdateAccessKey", "DeleteAccessKey"}
SKIP = {"CreateAccessKey"}


def normalise(record):
    name = record.get("eventName", "")
    when = datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%SZ")
    request = record.get("requestParameters") or {}
    response = record.get("responseElements") or {}
    resource = next((request[key] for key in TARGET_KEYS if key in request), None)
    if resource is None and isinstance(response, dict):
        for value in response.values():
            if isinstance(value, dict):
                resource = next((value[key] for key in TARGET_KEYS if key in value), None)
                if resource:
                    break
    agent = record.get("userAgent", "")
    identity = record.get("userIdentity") or {}
    access_key = None
    if "AccessKey" in name:
        key = response.get("accessKey", {}) if isinstance(response, dict) else {}
        access_key = {"owner": request.get("userName") or key.get("userName") or identity.get("userName"),
                      "access_key_id": request.get("accessKeyId") or key.get("accessKeyId"),
                      "status": request.get("status") or key.get("status")}
    return {
        "event_id": record.get("eventID"),
        "event_name": name,
        "event_time_ms": int(when.timestamp() * 1000),
        "source": SERVICES.get(record.get("eventSource", ""), record.get("eventSource", "")),
        "event_type": LABELS.get(name, (name, name)),
        "resource": resource or record.get("eventID"),
        "meta": {"device": {"summary": agent.split(" ")[0].replace("/", " "), "ua": agent},
                 "ip": record.get("sourceIPAddress"), "api": name, "accessKey": access_key},
        "root": identity.get("type") == "Root",
    }


def severity(event, record):
    if event["root"]:
        return "CRITICAL"
    if event["event_name"] in HIGH:
        return "HIGH"
    if record.get("eventSource") == "iam.amazonaws.com" and not record.get("readOnly", False):
        return "MEDIUM"
    return "LOW"


def main():
    directory = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else None
    paths = sorted(os.path.join(directory, name) for name in os.listdir(directory) if name.endswith(".json.gz"))[:limit]
    started = time.perf_counter()
    records = 0
    incidents = []
    for path in paths:
        with gzip.open(path, "rb") as stream:
            for record in json.load(stream)["Records"]:
                records += 1
                event = normalise(record)
                relevant = record.get("eventSource") in ("iam.amazonaws.com", "signin.amazonaws.com") or event["root"]
                if relevant and not record.get("readOnly", False) and event["event_name"] not in SKIP:
                    event["severity"] = severity(event, record)
                    incidents.append(event)
    print(records, f"{time.perf_counter() - started:.3f}")


if __name__ == "__main__":
    main()
