//! The reasons incidents give, in each language.

use super::{evaluated, iam};
use crate::{Detector, Verdict};
use serde_json::{json, Value};

/// Every reason comes in Korean too, one for one with the English: what the built-in rules say
/// (with the values they name) and a rule file's title.
#[test]
fn reasons_come_in_both_languages() {
    let reasons_of = |record: &Value| match evaluated(&Detector::default(), record) {
        Verdict::Incident(finding) => finding.reasons,
        _ => Vec::new(),
    };
    let mut denied = iam(
        "AttachUserPolicy",
        json!({"userName": "bob", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    );
    denied["errorCode"] = json!("AccessDenied");
    let trust = iam(
        "UpdateAssumeRolePolicy",
        json!({"roleName": "r", "policyDocument": r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::829353387443:root"},"Action":"sts:AssumeRole"}]}"#}),
    );
    let stop = json!({"eventName": "StopLogging", "eventSource": "cloudtrail.amazonaws.com", "eventID": "s",
        "userIdentity": {"type": "IAMUser", "userName": "walter"}, "requestParameters": {"name": "org-trail"}});
    let flow_logs = json!({"eventName": "DeleteFlowLogs", "eventSource": "ec2.amazonaws.com", "eventID": "f",
        "userIdentity": {"type": "IAMUser", "userName": "walter"}, "requestParameters": {"flowLogIds": ["fl-1"]}});
    let cases = [
        (denied, "호출 실패: AccessDenied"),
        (trust, "신뢰 정책이 계정 829353387443의 역할 수임을 허용함"),
        (
            stop,
            "CloudTrail 로깅 변경: 이후 활동이 기록되지 않을 수 있음",
        ),
        (flow_logs, "VPC 흐름 로그 삭제"),
    ];
    for (record, korean) in cases {
        let reasons = reasons_of(&record);
        assert!(!reasons.is_empty(), "{record}");
        for reason in &reasons {
            assert!(!reason.en.is_empty() && !reason.ko.is_empty(), "{reason:?}");
            assert!(
                reason.ko.chars().any(|c| ('가'..='힣').contains(&c)),
                "{reason:?} is not in Korean"
            );
        }
        assert!(
            reasons.iter().any(|reason| reason.ko == korean),
            "{reasons:?} lacks {korean}"
        );
    }
}
