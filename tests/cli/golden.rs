//! Golden files: every seed event family scanned, in both languages. `UPDATE_GOLDEN=1`
//! rewrites them; review the diff before committing.

use crate::helpers::*;

/// Creation times differ run to run; everything else must not.
fn masked(output: &std::process::Output) -> String {
    incidents_of(output)
        .into_iter()
        .map(|mut incident| {
            incident["created_at"] = 0.into();
            incident["updated_at"] = 0.into();
            serde_json::to_string(&incident).expect("serialise")
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn check_golden(lang: &str) {
    let workspace = Workspace::new();
    let output = workspace.scan(
        &["--format", "jsonl", "--lang", lang],
        &[&fixture("seed_events.jsonl")],
    );
    assert_success(&output);
    let actual = masked(&output);
    let golden = repo_root().join(format!("tests/golden/seed_events.{lang}.jsonl"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &actual).expect("write golden");
        return;
    }
    let expected =
        std::fs::read_to_string(&golden).expect("golden file exists (UPDATE_GOLDEN=1 writes it)");
    for (number, (actual_line, expected_line)) in actual.lines().zip(expected.lines()).enumerate() {
        assert_eq!(
            actual_line,
            expected_line,
            "{} line {} differs",
            golden.display(),
            number + 1
        );
    }
    assert_eq!(
        actual.lines().count(),
        expected.lines().count(),
        "{} has a different number of incidents",
        golden.display()
    );
}

#[test]
fn seed_events_match_the_english_golden_file() {
    check_golden("en");
}

#[test]
fn seed_events_match_the_korean_golden_file() {
    check_golden("ko");
}

#[test]
fn golden_output_covers_every_seed_family_with_labels_resource_and_meta() {
    // Independent of the golden file: the properties the issue names, checked directly.
    let workspace = Workspace::new();
    let output = workspace.scan(
        &["--format", "jsonl", "--lang", "ko"],
        &[&fixture("seed_events.jsonl")],
    );
    assert_success(&output);
    let incidents = incidents_of(&output);
    let by_name = |name: &str| -> Vec<&serde_json::Value> {
        incidents
            .iter()
            .filter(|incident| incident["event_name"] == name)
            .collect()
    };

    let root_key = &by_name("CreateAccessKey")[0];
    assert_eq!(root_key["severity"], "CRITICAL");
    assert_eq!(root_key["event_type"], "액세스 키 생성");
    assert_eq!(root_key["resource"], "AKIA4EXAMPLEROOTKEY1");
    assert_eq!(
        by_name("CreateAccessKey").len(),
        1,
        "alice's routine CreateAccessKey is skipped"
    );

    let update = &by_name("UpdateAccessKey")[0];
    assert_eq!(
        update["meta"]["accessKey"],
        serde_json::json!({"owner": "carol", "access_key_id": "AKIA4EXAMPLECAROLK01", "status": "Inactive"})
    );
    assert_eq!(update["meta"]["device"]["summary"], "aws-cli 2.17 on Linux");
    assert_eq!(update["meta"]["ip"], "198.51.100.23");
    assert_eq!(update["meta"]["ip_class"], "public");
    assert_eq!(update["meta"]["api"], "UpdateAccessKey");
    assert_eq!(update["event_time_ms"], 1_717_232_421_000_i64);

    assert_eq!(
        by_name("DeactivateMFADevice")[0]["resource"],
        "arn:aws:iam::111122223333:mfa/dave"
    );
    assert_eq!(
        by_name("UploadSSHPublicKey")[0]["resource"],
        "APKA4EXAMPLESSHKEY01"
    );
    assert_eq!(
        by_name("UploadSigningCertificate")[0]["resource"],
        "TA7SMP42TDN5Z26OBPJE7EXAMPLE"
    );
    assert_eq!(
        by_name("UpdateAssumeRolePolicy")[0]["resource"],
        "DataPipeline"
    );
    assert_eq!(by_name("UpdateAssumeRolePolicy")[0]["severity"], "CRITICAL");
    assert_eq!(by_name("AttachUserPolicy")[0]["severity"], "CRITICAL");
    assert_eq!(by_name("PutUserPolicy")[0]["severity"], "CRITICAL");
    assert_eq!(
        by_name("CreateLoginProfile")[0]["meta"]["device"]["summary"],
        "Terraform 1.9 (aws-sdk-go-v2)"
    );
    assert_eq!(
        by_name("CreateLoginProfile")[0]["meta"]["ip_class"],
        "private"
    );
    assert_eq!(by_name("ConsoleLogin").len(), 4);
    assert!(
        by_name("GetUser").is_empty(),
        "read-only calls are not incidents"
    );
    for incident in &incidents {
        assert_eq!(incident["status"], "NEW");
        assert!(
            incident["incident_id"]
                .as_str()
                .unwrap()
                .starts_with("inc-20240601-09"),
            "{incident}"
        );
        assert!(incident["meta"]["device"]["ua"]
            .as_str()
            .is_some_and(|ua| !ua.is_empty()));
    }
}
