//! A rule file's text, iamwatch's own YAML or a Sigma rule: loading must refuse it or load it
//! without panicking, and a loaded rule must decide each record below the same way from the
//! leaves read out of the record's raw text (the scan's path, without a whole parse) as from
//! the whole parsed event, whenever the leaves can decide it, and count the same value (the
//! different value it counts, or the step it matches). A rule deciding differently on the two
//! paths would fire on one record and not on its twin.
#![no_main]

use iamwatch_detect::eventbridge::FlatEvent;
use iamwatch_detect::rules::shape::eventbridge_event;
use iamwatch_detect::rules::RuleSet;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Records of the shapes rules are written for: an IAM change by an assumed role with a policy
/// written as text, a failed console sign-in, a call from a pentest distribution with an error.
const RECORDS: &[&str] = &[
    r#"{"eventVersion":"1.09","eventSource":"iam.amazonaws.com","eventName":"PutUserPolicy","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.17.0 Python/3.11 Linux/6.1 exe/x86_64","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice","accountId":"111122223333","sessionContext":{"attributes":{"mfaAuthenticated":"false"}}},"requestParameters":{"userName":"bob","policyName":"all","policyDocument":"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"},"responseElements":null,"eventID":"e1","recipientAccountId":"111122223333","tags":[{"key":"k","value":"v"}]}"#,
    r#"{"eventVersion":"1.08","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Chrome/131.0","userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No","LoginTo":"https://console.aws.amazon.com/"},"errorMessage":"Failed authentication","eventID":"e2"}"#,
    r#"{"eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","awsRegion":"eu-west-1","sourceIPAddress":"10.0.0.5","userAgent":"Boto3/1.34.0 md/Botocore#1.34 ua/2.0 os/linux#6.5.0-kali3-amd64","userIdentity":{"type":"IAMUser","userName":"ci","accessKeyId":"AKIAEXAMPLE"},"errorCode":"AccessDenied","requestParameters":{},"eventID":"e3","readOnly":true,"resources":[{"ARN":"arn:aws:iam::1:user/ci","type":"AWS::IAM::User"}]}"#,
];

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(rules) = RuleSet::parse_text(text, "fuzz.yml") else {
        return;
    };
    for raw in RECORDS {
        let record: Value = serde_json::from_str(raw).expect("the fixed records are JSON");
        let shaped = eventbridge_event(record);
        for rule in &rules {
            let flat = FlatEvent::new(&shaped, rule.paths());
            let whole = rule.evaluate(Some(&shaped), &flat);
            let leaves = FlatEvent::from_raw_record(raw, &shaped, rule.paths());
            if !rule.needs_whole_event() || rule.decidable_on_leaves(&leaves) {
                assert_eq!(
                    rule.evaluate(None, &leaves),
                    whole,
                    "rule {} decides {raw} differently from its leaves:\n{text}",
                    rule.id
                );
                if whole.is_some() {
                    assert_eq!(
                        rule.distinct_value(None, &leaves),
                        rule.distinct_value(Some(&shaped), &flat),
                        "rule {} counts another value of {raw} from its leaves:\n{text}",
                        rule.id
                    );
                }
            }
        }
    }
});
