use crate::{Detector, DetectorConfig, Verdict};
use iamwatch_core::Severity::{self, *};
use iamwatch_normalise::normalise;
use iamwatch_sources::{visit_document, Item};
use serde_json::{json, Value};
use std::collections::BTreeSet;

mod reasons;
mod threshold;

/// The detector's verdict on one record.
fn evaluated(detector: &Detector, record: &Value) -> Verdict {
    let bytes = record.to_string();
    let mut out = None;
    visit_document(bytes.as_bytes(), false, &mut |item| {
        if let Item::Record(item) = item {
            out = Some(detector.evaluate(&normalise(&item, 0)));
        }
    });
    out.expect("a record")
}

/// (rule id, severity, title en) of the incident, or "pass"/"skipped".
fn verdict_with(detector: &Detector, record: &Value) -> (String, Option<Severity>, String) {
    match evaluated(detector, record) {
        Verdict::Pass => ("pass".into(), None, String::new()),
        Verdict::Skipped => ("skipped".into(), None, String::new()),
        Verdict::Incident(finding) => (
            finding.primary.rule_id.to_string(),
            Some(finding.primary.severity),
            finding.primary.title.en.clone(),
        ),
    }
}

fn verdict(record: &Value) -> (String, Option<Severity>, String) {
    verdict_with(&Detector::default(), record)
}

fn iam(name: &str, request: Value) -> Value {
    json!({"eventName": name, "eventSource": "iam.amazonaws.com", "eventID": "e", "readOnly": false,
           "recipientAccountId": "111122223333",
           "userIdentity": {"type": "IAMUser", "userName": "alice", "accountId": "111122223333"},
           "requestParameters": request})
}

/// The seed rules alone, without the rule-file pack (whose more specific rules would name some
/// of these incidents).
fn seed_only() -> Detector {
    Detector::new(
        DetectorConfig::default(),
        std::sync::Arc::new(crate::rules::RuleSet::empty()),
    )
}

#[test]
fn seed_families_get_at_least_the_seed_severity() {
    let seed = seed_only();
    let cases = [
        (
            "UpdateAccessKey",
            json!({"accessKeyId": "AKIA1", "status": "Inactive"}),
            "iam.access_key_change",
            High,
        ),
        (
            "DeleteAccessKey",
            json!({"accessKeyId": "AKIA1"}),
            "iam.access_key_change",
            High,
        ),
        (
            "DeactivateMFADevice",
            json!({"userName": "bob", "serialNumber": "arn:aws:iam::1:mfa/bob"}),
            "iam.mfa_change",
            High,
        ),
        (
            "DeleteVirtualMFADevice",
            json!({"serialNumber": "arn:aws:iam::1:mfa/bob"}),
            "iam.mfa_change",
            High,
        ),
        (
            "CreateLoginProfile",
            json!({"userName": "bob"}),
            "iam.password_change",
            High,
        ),
        (
            "UpdateLoginProfile",
            json!({"userName": "bob"}),
            "iam.password_change",
            High,
        ),
        ("ChangePassword", Value::Null, "iam.password_change", High),
        (
            "UploadSSHPublicKey",
            json!({"userName": "bob"}),
            "iam.ssh_key_change",
            High,
        ),
        (
            "UploadSigningCertificate",
            json!({"userName": "bob"}),
            "iam.signing_certificate_change",
            High,
        ),
        (
            "CreateUser",
            json!({"userName": "bob"}),
            "iam.user_change",
            Medium,
        ),
        (
            "DeleteUser",
            json!({"userName": "bob"}),
            "iam.user_change",
            Medium,
        ),
        (
            "AttachUserPolicy",
            json!({"userName": "bob", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
            "iam.policy_change",
            Medium,
        ),
        (
            "DeleteRolePolicy",
            json!({"roleName": "r", "policyName": "p"}),
            "iam.policy_change",
            Medium,
        ),
        (
            "UpdateAssumeRolePolicy",
            json!({"roleName": "r", "policyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"ec2.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}"}),
            "iam.role_trust_change",
            High,
        ),
        (
            "CreateSAMLProvider",
            json!({"name": "idp"}),
            "iam.identity_provider_change",
            High,
        ),
        ("TagUser", json!({"userName": "bob"}), "iam.tag_change", Low),
        (
            "SetSecurityTokenServicePreferences",
            json!({}),
            "iam.other_change",
            Medium,
        ),
    ];
    for (name, request, rule, severity) in cases {
        let (rule_id, got, _) = verdict_with(&seed, &iam(name, request.clone()));
        assert_eq!((rule_id.as_str(), got), (rule, Some(severity)), "{name}");
        let (_, with_pack, _) = verdict(&iam(name, request));
        assert!(
            with_pack >= Some(severity),
            "{name}: the rule pack never lowers a seed severity"
        );
    }
}

#[test]
fn granting_administrator_access_is_critical_however_it_is_granted() {
    let managed = iam(
        "AttachRolePolicy",
        json!({"roleName": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    );
    assert_eq!(verdict(&managed).1, Some(Critical));
    let inline = iam(
        "PutUserPolicy",
        json!({"userName": "bob", "policyName": "tmp", "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}),
    );
    assert_eq!(verdict(&inline).1, Some(Critical));
    let version = iam(
        "CreatePolicyVersion",
        json!({"policyArn": "arn:aws:iam::1:policy/p", "setAsDefault": true, "policyDocument": "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"iam:*\",\"Resource\":\"*\"}}"}),
    );
    assert_eq!(verdict(&version).1, Some(High));
}

/// Athena's exports write the request as JSON text: the rule files' patterns (which read inside
/// it) and the code rules weigh it as they weigh the request itself, and the incident says so.
#[test]
fn a_request_written_as_text_is_weighed_as_the_request() {
    let requests = [
        (
            "AttachUserPolicy",
            json!({"userName": "bob", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        ),
        (
            "PutUserPolicy",
            json!({"userName": "bob", "policyName": "tmp", "policyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}),
        ),
        (
            "UpdateAssumeRolePolicy",
            json!({"roleName": "DataPipeline", "policyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::829353387443:root\"},\"Action\":\"sts:AssumeRole\"}]}"}),
        ),
        (
            "DeleteAccessKey",
            json!({"userName": "bob", "accessKeyId": "AKIAEXAMPLEBOBKEY001"}),
        ),
    ];
    for (name, request) in requests {
        let as_object = iam(name, request.clone());
        let as_text = iam(name, Value::String(request.to_string()));
        assert_eq!(verdict(&as_text), verdict(&as_object), "{name}");
        let Verdict::Incident(finding) = evaluated(&Detector::default(), &as_text) else {
            panic!("{name}: no incident");
        };
        assert_ne!(
            finding.target.id, "e",
            "{name}: the target is the request's"
        );
        assert!(
            finding
                .details
                .notes
                .iter()
                .any(|note| note.starts_with("requestParameters was JSON written as text")),
            "{name}: {:?}",
            finding.details.notes
        );
    }
}

#[test]
fn trust_policy_opened_to_another_account_is_critical() {
    let backdoor = iam(
        "UpdateAssumeRolePolicy",
        json!({"roleName": "DataPipeline", "policyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::829353387443:root\"},\"Action\":\"sts:AssumeRole\"}]}"}),
    );
    assert_eq!(verdict(&backdoor).1, Some(Critical));
}

#[test]
fn create_access_key_is_skipped_unless_configured_otherwise() {
    let own_key = iam("CreateAccessKey", json!({"userName": "alice"}));
    assert_eq!(verdict(&own_key).0, "skipped");
    let no_skip = Detector::new(
        DetectorConfig {
            skip_events: BTreeSet::new(),
            ..DetectorConfig::default()
        },
        std::sync::Arc::new(crate::builtin_rules()),
    );
    assert_eq!(verdict_with(&no_skip, &own_key).1, Some(High));
    // A key for someone else is a backdoor: its own rule fires whatever the skip list says.
    let for_bob = iam("CreateAccessKey", json!({"userName": "bob"}));
    assert_eq!(
        verdict(&for_bob).0,
        "iam.access_key_created_for_another_user"
    );
}

#[test]
fn anything_root_does_is_at_least_high_and_root_keys_are_critical() {
    let mut root_create = iam("CreateAccessKey", json!({}));
    root_create["userIdentity"] = json!({"type": "Root", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"});
    let (rule, severity, title) = verdict(&root_create);
    assert_eq!((rule.as_str(), severity), ("root.activity", Some(Critical)));
    assert!(title.starts_with("Root account used"), "{title}");

    let mut root_read = json!({"eventName": "ListBuckets", "eventSource": "s3.amazonaws.com", "eventID": "r", "readOnly": true,
        "userIdentity": {"type": "Root", "arn": "arn:aws:iam::1:root"}});
    assert_eq!(verdict(&root_read).1, Some(High));
    root_read["userIdentity"]["invokedBy"] = json!("signin.amazonaws.com");
    assert_eq!(
        verdict(&root_read).1,
        Some(High),
        "root in the console is a person"
    );
    root_read["userIdentity"]["invokedBy"] = json!("config.amazonaws.com");
    assert_eq!(
        verdict(&root_read).0,
        "pass",
        "a service acting as root is not a person using root"
    );
}

#[test]
fn console_sign_in_severity_follows_mfa_and_outcome() {
    let login = |identity: Value, outcome: &str, mfa: &str| {
        json!({"eventName": "ConsoleLogin", "eventSource": "signin.amazonaws.com", "eventID": "l",
               "userIdentity": identity, "responseElements": {"ConsoleLogin": outcome},
               "additionalEventData": {"MFAUsed": mfa}})
    };
    let user = json!({"type": "IAMUser", "userName": "judy"});
    let root = json!({"type": "Root", "arn": "arn:aws:iam::1:root"});
    let sso =
        json!({"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/AWSReservedSSO_x/judy"});
    assert_eq!(verdict(&login(user.clone(), "Success", "Yes")).1, Some(Low));
    assert_eq!(
        verdict(&login(user.clone(), "Success", "No")).1,
        Some(Medium)
    );
    assert_eq!(verdict(&login(user, "Failure", "No")).1, Some(Medium));
    assert_eq!(
        verdict(&login(root.clone(), "Success", "No")).1,
        Some(Critical)
    );
    assert_eq!(verdict(&login(root, "Failure", "No")).1, Some(High));
    assert_eq!(
        verdict(&login(sso, "Success", "No")).1,
        Some(Low),
        "SSO does MFA at the identity provider"
    );
}

#[test]
fn a_failed_sign_in_with_a_user_name_cloudtrail_hides_says_so() {
    let login = json!({"eventName": "ConsoleLogin", "eventSource": "signin.amazonaws.com",
        "eventID": "h", "errorMessage": "No username found in supplied account",
        "userIdentity": {"type": "IAMUser", "accountId": "1", "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"},
        "responseElements": {"ConsoleLogin": "Failure"}, "additionalEventData": {"MFAUsed": "No"}});
    let (rule, severity, title) = verdict(&login);
    assert_eq!(
        (rule.as_str(), severity),
        ("signin.console_login", Some(Medium))
    );
    assert_eq!(
        title,
        "Failed console sign-in: unknown user name (hidden by CloudTrail)"
    );
}

#[test]
fn a_failed_step_of_a_sign_in_says_it_failed() {
    let step = |identity: Value, outcome: &str| {
        json!({"eventName": "CredentialVerification", "eventSource": "signin.amazonaws.com",
               "eventID": "v", "eventType": "AwsServiceEvent", "userIdentity": identity,
               "serviceEventDetails": {"CredentialType": "PASSWORD", "CredentialVerification": outcome}})
    };
    let root = json!({"type": "Root", "arn": "arn:aws:iam::1:root", "accountId": "1"});
    let user = json!({"type": "IAMUser", "userName": "judy", "accountId": "1"});
    let (rule, severity, title) = verdict(&step(root.clone(), "Failure"));
    assert_eq!((rule.as_str(), severity), ("signin.activity", Some(High)));
    assert!(title.starts_with("Sign-in step failed — "), "{title}");
    let (_, severity, title) = verdict(&step(user.clone(), "Failure"));
    assert_eq!(severity, Some(Medium));
    assert!(title.starts_with("Sign-in step failed — "), "{title}");
    // Succeeded: root is still root's rule, a user's step is low.
    let (rule, severity, _) = verdict(&step(root, "Success"));
    assert_eq!((rule.as_str(), severity), ("root.activity", Some(High)));
    let (_, severity, title) = verdict(&step(user.clone(), "Success"));
    assert_eq!(severity, Some(Low));
    assert!(!title.contains("failed"), "{title}");
    // A failed call is said to have failed once.
    let mut switch = step(user, "Success");
    switch["eventName"] = "SwitchRole".into();
    switch["errorCode"] = "AccessDenied".into();
    let (_, severity, title) = verdict(&switch);
    assert_eq!(severity, Some(Medium));
    assert!(
        title.starts_with("Failed attempt (AccessDenied): "),
        "{title}"
    );
}

#[test]
fn calls_from_a_penetration_testing_distribution_are_incidents() {
    let kali = "aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024 prompt/off";
    let whoami = |agent: &str| {
        json!({"eventName": "GetCallerIdentity", "eventSource": "sts.amazonaws.com",
               "eventID": "w", "readOnly": true, "userAgent": agent,
               "userIdentity": {"type": "IAMUser", "userName": "alice", "accountId": "1"}})
    };
    let (rule, severity, title) = verdict(&whoami(kali));
    assert_eq!(
        (rule.as_str(), severity),
        ("useragent.pentest_distribution", Some(Medium))
    );
    assert!(title.starts_with("Call from Kali Linux — "), "{title}");
    let debian = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0-18-amd64 exe/x86_64.debian.12";
    assert_eq!(verdict(&whoami(debian)).0, "pass");
    // An IAM change from Kali is named by what was done; the skip list does not hide Kali.
    let mut delete = iam("DeleteUser", json!({"userName": "bob"}));
    delete["userAgent"] = kali.into();
    assert_eq!(verdict(&delete).0, "iam.user_change");
    let mut create = iam("CreateAccessKey", json!({"userName": "alice"}));
    create["userAgent"] = kali.into();
    assert_eq!(verdict(&create).0, "useragent.pentest_distribution");
}

#[test]
fn trail_tampering_is_critical_and_read_only_noise_passes() {
    let stop = json!({"eventName": "StopLogging", "eventSource": "cloudtrail.amazonaws.com", "eventID": "s",
        "userIdentity": {"type": "IAMUser", "userName": "walter"}, "requestParameters": {"name": "org-trail"}});
    let (rule, severity, title) = verdict(&stop);
    assert_eq!(
        (rule.as_str(), severity),
        ("cloudtrail.logging_tampered", Some(Critical))
    );
    assert_eq!(title, "Stop CloudTrail logging: org-trail (by walter)");
    // Selectors that keep every management event: a change (CIS asks for it), not tampering.
    let selectors = |selector: serde_json::Value| {
        json!({"eventName": "PutEventSelectors", "eventSource": "cloudtrail.amazonaws.com",
            "eventID": "p", "userIdentity": {"type": "IAMUser", "userName": "walter"},
            "requestParameters": {"trailName": "org-trail", "eventSelectors": [selector]}})
    };
    let whole = json!({"includeManagementEvents": true, "readWriteType": "All",
        "excludeManagementEventSources": [], "dataResources": []});
    assert_eq!(
        verdict(&selectors(whole.clone())).1,
        Some(Medium),
        "every management event still recorded"
    );
    for (key, narrowed) in [
        ("includeManagementEvents", json!(false)),
        ("readWriteType", json!("WriteOnly")),
        (
            "excludeManagementEventSources",
            json!(["kms.amazonaws.com"]),
        ),
    ] {
        let mut selector = whole.clone();
        selector[key] = narrowed;
        assert_eq!(
            verdict(&selectors(selector)),
            (
                "cloudtrail.logging_tampered".to_string(),
                Some(High),
                "Change CloudTrail event selectors: org-trail (by walter)".to_string()
            ),
            "{key}"
        );
    }
    let describe = json!({"eventName": "DescribeInstances", "eventSource": "ec2.amazonaws.com", "eventID": "d", "readOnly": true,
        "userIdentity": {"type": "IAMUser", "userName": "walter"}});
    assert_eq!(verdict(&describe).0, "pass");
    let mut get_user = iam("GetUser", json!({"userName": "x"}));
    get_user["readOnly"] = json!(true);
    assert_eq!(verdict(&get_user).0, "pass");
    get_user.as_object_mut().unwrap().remove("readOnly");
    assert_eq!(
        verdict(&get_user).0,
        "pass",
        "without readOnly, Get* is inferred read-only"
    );
}

#[test]
fn failed_calls_are_titled_as_attempts() {
    let mut denied = iam("DeleteUser", json!({"userName": "bob"}));
    denied["errorCode"] = json!("AccessDenied");
    let (_, severity, title) = verdict(&denied);
    assert_eq!(severity, Some(Medium));
    assert_eq!(
        title,
        "Failed attempt (AccessDenied): Delete user: bob (by alice)"
    );
}

/// A call on the caller itself names it once, as the actor; on someone else, both.
#[test]
fn a_call_on_the_caller_itself_names_it_once() {
    let (_, _, own) = verdict(&iam("ChangePassword", Value::Null));
    assert_eq!(own, "Change own password (by alice)");
    let (_, _, other) = verdict(&iam("UpdateLoginProfile", json!({"userName": "bob"})));
    assert_eq!(
        other,
        "Console password set for another user: bob (by alice)"
    );
}

/// IAM Identity Center's own SAML provider, kept by its service-linked role, is routine (LOW);
/// a role merely named so, without AWS's `invokedBy`, is anyone's and stays HIGH.
#[test]
fn identity_centers_own_saml_provider_is_routine_and_a_look_alike_is_not() {
    let saml = |invoked_by: Option<&str>| {
        let mut identity = json!({"type": "AssumedRole",
            "arn": "arn:aws:sts::123412341234:assumed-role/AWSServiceRoleForSSO/AWS-SSO",
            "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "AWSServiceRoleForSSO",
                "arn": "arn:aws:iam::123412341234:role/aws-service-role/sso.amazonaws.com/AWSServiceRoleForSSO"}}});
        if let Some(service) = invoked_by {
            identity["invokedBy"] = json!(service);
        }
        json!({"eventName": "CreateSAMLProvider", "eventSource": "iam.amazonaws.com", "eventID": "p",
            "userIdentity": identity,
            "requestParameters": {"name": "AWSSSO_abdf34fd171b4a7e_DO_NOT_DELETE"}})
    };
    let (rule, severity, _) = verdict(&saml(Some("sso.amazonaws.com")));
    assert_eq!(
        (rule.as_str(), severity),
        ("iam.identity_provider_change", Some(Low))
    );
    let (rule, severity, _) = verdict(&saml(None));
    assert_eq!(
        (rule.as_str(), severity),
        ("iam.identity_provider_change", Some(High))
    );
}

/// A rule file's title says what the call would have done; when the call failed, the incident
/// must not read as if it had (Panther's "RDS Deletion Failed - Access Denied" was titled
/// "Database deleted: production-db"). A rule about the failure itself says so already.
#[test]
fn a_rule_files_title_for_a_failed_call_is_titled_as_an_attempt() {
    let delete_db = |error: Option<&str>| {
        let mut record = json!({"eventName": "DeleteDBInstance", "eventSource": "rds.amazonaws.com",
            "eventID": "r", "userIdentity": {"type": "IAMUser", "userName": "developer"},
            "requestParameters": {"dBInstanceIdentifier": "production-db"}});
        if let Some(code) = error {
            record["errorCode"] = json!(code);
        }
        record
    };
    let (rule, _, title) = verdict(&delete_db(None));
    assert_eq!(rule, "rds.database_deleted");
    assert_eq!(title, "Database deleted: production-db (by developer)");
    let (rule, _, title) = verdict(&delete_db(Some("AccessDenied")));
    assert_eq!(rule, "rds.database_deleted");
    assert_eq!(
        title,
        "Failed attempt (AccessDenied): Database deleted: production-db (by developer)"
    );
    // The rule that matches refused calls is about the refusal: no "Failed attempt" before it.
    let refused = json!({"eventName": "DescribeInstances", "eventSource": "ec2.amazonaws.com",
        "eventID": "u", "readOnly": true, "errorCode": "Client.UnauthorizedOperation",
        "userIdentity": {"type": "IAMUser", "userName": "developer"}});
    let (rule, _, title) = verdict(&refused);
    assert_eq!(rule, "cis.unauthorized_api_call");
    assert_eq!(title, "Unauthorised API call (by developer)");
}

/// The built-in pack with the rules written in code configured by `configure`.
fn with_code_rules(configure: impl FnOnce(&mut crate::builtin::CodeRuleSettings)) -> Detector {
    let mut config = DetectorConfig::default();
    configure(&mut config.code_rules);
    Detector::new(config, std::sync::Arc::new(crate::builtin_rules()))
}

#[test]
fn rules_written_in_code_can_be_turned_off_and_held_to_a_severity() {
    let kali = "aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024 prompt/off";
    let whoami = json!({"eventName": "GetCallerIdentity", "eventSource": "sts.amazonaws.com",
        "eventID": "w", "readOnly": true, "userAgent": kali,
        "userIdentity": {"type": "IAMUser", "userName": "alice", "accountId": "1"}});
    let red_team = with_code_rules(|rules| rules.disable("useragent.pentest_distribution"));
    assert_eq!(verdict_with(&red_team, &whoami).0, "pass");
    // Turning the Kali rule off leaves what was done to the other rules.
    let mut delete = iam("DeleteUser", json!({"userName": "bob"}));
    delete["userAgent"] = kali.into();
    assert_eq!(
        verdict_with(&red_team, &delete).0,
        "iam.user_change",
        "the other rules still run"
    );

    let login = json!({"eventName": "ConsoleLogin", "eventSource": "signin.amazonaws.com",
        "eventID": "l", "responseElements": {"ConsoleLogin": "Success"},
        "additionalEventData": {"MFAUsed": "Yes"},
        "userIdentity": {"type": "IAMUser", "userName": "alice", "accountId": "1"}});
    assert_eq!(verdict(&login).1, Some(Low));
    let watchful = with_code_rules(|rules| rules.set_severity("signin.console_login", High));
    assert_eq!(
        verdict_with(&watchful, &login),
        (
            "signin.console_login".to_string(),
            Some(High),
            verdict(&login).2
        )
    );
}

#[test]
fn a_skipped_api_is_only_reported_skipped_while_its_rule_is_on() {
    let own_key = iam("CreateAccessKey", json!({"userName": "alice"}));
    assert_eq!(verdict(&own_key).0, "skipped");
    let keys_off = with_code_rules(|rules| rules.disable("iam.access_key_change"));
    assert_eq!(verdict_with(&keys_off, &own_key).0, "pass");
    // Another rule off changes nothing.
    let other_off = with_code_rules(|rules| rules.disable("iam.user_change"));
    assert_eq!(verdict_with(&other_off, &own_key).0, "skipped");
}

#[test]
fn the_insights_rule_follows_its_settings() {
    let insight = json!({"eventVersion": "1.08", "eventTime": "2024-06-01T00:00:00Z",
        "eventID": "i", "eventType": "AwsCloudTrailInsight", "eventCategory": "Insight",
        "insightDetails": {"state": "Start", "eventSource": "iam.amazonaws.com",
            "eventName": "DeleteUser", "insightType": "ApiCallRateInsight"}});
    let rule = crate::insight::RULE_ID;
    assert_eq!(verdict(&insight).1, Some(Medium));
    let off = with_code_rules(|rules| rules.disable(rule));
    assert_eq!(verdict_with(&off, &insight).0, "pass");
    let critical = with_code_rules(|rules| rules.set_severity(rule, Critical));
    assert_eq!(verdict_with(&critical, &insight).1, Some(Critical));
}
