//! `iamwatch respond`: playbooks on incidents a scan stored, against the moto server's IAM
//! through the AWS SDK for Rust: a dry run changes nothing, `--execute` makes the calls and the
//! incident's history records them.

use crate::helpers::{iamwatch, Workspace};
use crate::iam_account;
use crate::moto::Moto;
use serde_json::Value;
use std::path::Path;
use std::process::Output;

/// The seed fixture's record of `event_name`, changed by `edit`.
fn seed_record(event_name: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed_events.jsonl");
    let mut record: Value = std::fs::read_to_string(fixture)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .find(|record| record["eventName"] == event_name)
        .unwrap();
    edit(&mut record);
    record
}

fn respond(workspace: &Workspace, moto: &Moto, args: &[&str]) -> Output {
    let mut command = iamwatch();
    command
        .arg("respond")
        .args(args)
        .arg("--db")
        .arg(workspace.db());
    workspace
        .with_aws(&mut command, &moto.endpoint, "us-east-1")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn playbooks_plan_first_and_act_only_when_told_recording_what_they_did() {
    let moto = Moto::start_with_managed_policies();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = iam_account::client(&moto);
    let key_id = runtime.block_on(async {
        for user in ["carol", "svc-reports", "mallory"] {
            client.create_user().user_name(user).send().await.unwrap();
        }
        client
            .attach_user_policy()
            .user_name("svc-reports")
            .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
            .send()
            .await
            .unwrap();
        client
            .create_access_key()
            .user_name("mallory")
            .send()
            .await
            .unwrap();
        let created = client
            .create_access_key()
            .user_name("carol")
            .send()
            .await
            .unwrap();
        created.access_key().unwrap().access_key_id().to_string()
    });
    // Someone turned carol's key back on, and gave svc-reports administrator access.
    let reactivated = seed_record("UpdateAccessKey", |record| {
        record["requestParameters"]["accessKeyId"] = key_id.clone().into();
        record["requestParameters"]["status"] = "Active".into();
    });
    let attached = seed_record("AttachUserPolicy", |_| {});
    let deleted = seed_record("DeleteUser", |_| {});
    let workspace = Workspace::new();
    let trail = workspace.write(
        "trail.jsonl",
        format!("{reactivated}\n{attached}\n{deleted}\n").as_bytes(),
    );
    let scanned = workspace.scan(&["--format", "jsonl"], &[&trail]);
    assert!(scanned.status.success(), "{}", text(&scanned.stderr));
    let incident_of = |name: &str| -> String {
        text(&scanned.stdout)
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .find(|incident| incident["event_name"] == name)
            .unwrap_or_else(|| panic!("an incident of {name}"))["incident_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let key_status = |user: &str| -> Vec<String> {
        runtime.block_on(async {
            let listed = client
                .list_access_keys()
                .user_name(user)
                .send()
                .await
                .unwrap();
            listed
                .access_key_metadata()
                .iter()
                .map(|key| key.status().unwrap().as_str().to_string())
                .collect()
        })
    };

    // A dry run says what it would do and changes nothing.
    let key_incident = incident_of("UpdateAccessKey");
    let dry = respond(
        &workspace,
        &moto,
        &[&key_incident, "--playbook", "deactivate-key"],
    );
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert_eq!(
        text(&dry.stdout),
        format!("would: UpdateAccessKey: access key {key_id} of user carol → Inactive\n")
    );
    assert!(text(&dry.stderr).contains("dry run: nothing was changed"));
    assert_eq!(key_status("carol"), ["Active"]);

    // Executed: the key is inactive, and the incident's history says who did what.
    let done = respond(
        &workspace,
        &moto,
        &[
            &key_incident,
            "--playbook",
            "deactivate-key",
            "--execute",
            "--actor",
            "alice",
        ],
    );
    assert!(done.status.success(), "{}", text(&done.stderr));
    assert!(
        text(&done.stdout).starts_with("done: UpdateAccessKey"),
        "{}",
        text(&done.stdout)
    );
    assert_eq!(key_status("carol"), ["Inactive"]);
    let shown = workspace.incidents(&["show", &key_incident]);
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    let entry = shown["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(entry["actor"], "alice");
    assert!(
        entry["note"]
            .as_str()
            .unwrap()
            .starts_with("playbook deactivate-key executed: done: UpdateAccessKey"),
        "{entry}"
    );

    // The grant undone.
    let policy_incident = incident_of("AttachUserPolicy");
    let detached = respond(
        &workspace,
        &moto,
        &[&policy_incident, "--playbook", "detach-policy", "--execute"],
    );
    assert!(detached.status.success(), "{}", text(&detached.stdout));
    let attached_now = runtime.block_on(async {
        client
            .list_attached_user_policies()
            .user_name("svc-reports")
            .send()
            .await
            .unwrap()
            .attached_policies()
            .len()
    });
    assert_eq!(attached_now, 0);

    // A user quarantined by name: denied everything, its keys inactive.
    let quarantined = respond(
        &workspace,
        &moto,
        &[
            &policy_incident,
            "--playbook",
            "quarantine-user",
            "--user",
            "mallory",
            "--execute",
        ],
    );
    assert!(
        quarantined.status.success(),
        "{}",
        text(&quarantined.stdout)
    );
    assert_eq!(key_status("mallory"), ["Inactive"]);
    let policy = runtime.block_on(async {
        client
            .get_user_policy()
            .user_name("mallory")
            .policy_name("iamwatch-quarantine")
            .send()
            .await
            .unwrap()
            .policy_document()
            .to_string()
    });
    assert!(policy.contains("Deny"), "{policy}");

    // Released: the deny-all policy gone, the keys left inactive for a person to turn on.
    let released = respond(
        &workspace,
        &moto,
        &[
            &policy_incident,
            "--playbook",
            "release-user",
            "--user",
            "mallory",
            "--execute",
        ],
    );
    assert!(released.status.success(), "{}", text(&released.stdout));
    let inline = runtime.block_on(async {
        client
            .list_user_policies()
            .user_name("mallory")
            .send()
            .await
            .unwrap()
            .policy_names()
            .to_vec()
    });
    assert!(inline.is_empty(), "{inline:?}");
    assert_eq!(key_status("mallory"), ["Inactive"]);
    let shown = workspace.incidents(&["show", &policy_incident]);
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    let entry = shown["history"].as_array().unwrap().last().unwrap().clone();
    assert!(
        entry["note"]
            .as_str()
            .unwrap()
            .starts_with("playbook release-user executed: done: DeleteUserPolicy: inline policy iamwatch-quarantine of user mallory"),
        "{entry}"
    );

    // An incident with nothing for the playbook to act on: refused before any call.
    let refused = respond(
        &workspace,
        &moto,
        &[
            &incident_of("DeleteUser"),
            "--playbook",
            "detach-policy",
            "--execute",
        ],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("detach-policy cannot act on"),
        "{}",
        text(&refused.stderr)
    );

    // Leaked temporary credentials: the caller's role denies every session issued until now.
    let role = "AWSReservedSSO_AdministratorAccess_3f1c2a9b7d5e4c10";
    runtime.block_on(async {
        client
            .create_role()
            .role_name(role)
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
            .send()
            .await
            .unwrap();
    });
    let revoked = respond(
        &workspace,
        &moto,
        &[
            &incident_of("DeleteUser"),
            "--playbook",
            "revoke-sessions",
            "--execute",
        ],
    );
    assert!(revoked.status.success(), "{}", text(&revoked.stdout));
    let policy = runtime.block_on(async {
        client
            .get_role_policy()
            .role_name(role)
            .policy_name("AWSRevokeOlderSessions")
            .send()
            .await
            .unwrap()
            .policy_document()
            .to_string()
    });
    let policy = policy.replace("%22", "\"").replace("%3A", ":");
    assert!(policy.contains("aws:TokenIssueTime"), "{policy}");
    assert!(policy.contains("DateLessThan"), "{policy}");

    // A call IAM refuses: said, exit 1, and recorded all the same.
    let gone = respond(
        &workspace,
        &moto,
        &[&policy_incident, "--playbook", "detach-policy", "--execute"],
    );
    assert_eq!(gone.status.code(), Some(1), "{}", text(&gone.stdout));
    assert!(
        text(&gone.stdout).starts_with("failed: DetachUserPolicy"),
        "{}",
        text(&gone.stdout)
    );
}
