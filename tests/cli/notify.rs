//! `iamwatch notify test`: a sample incident sent once to each `[[notify]]` destination, each
//! answer printed, exit 1 when one did not take it.

use crate::helpers::iamwatch;
use crate::receiver::{self, posted_to};

#[test]
fn a_test_notification_reaches_each_destination_and_says_which_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (base, received) = runtime.block_on(receiver::start());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("iamwatch.toml");
    let table = |kind: &str, name: &str, path: &str, extra: &str| {
        format!("[[notify]]\nkind = \"{kind}\"\nname = \"{name}\"\nmin_severity = \"CRITICAL\"\nurl = \"{base}{path}\"\n{extra}\n")
    };
    let working = table("webhook", "hook", "/hook", "lang = \"ko\"");
    std::fs::write(
        &config,
        format!("{working}{}", table("slack", "slack-gone", "/gone", "")),
    )
    .unwrap();

    let output = iamwatch()
        .args(["notify", "test", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert_eq!(
        stdout,
        "hook (webhook): sent\nslack-gone (slack): not sent: HTTP 404\n"
    );
    // Sent whatever min_severity says (the sample is HIGH), in the destination's language.
    let hooked = posted_to(&received, "/hook");
    assert_eq!(hooked.len(), 1);
    let incident = &hooked[0].2["incident"];
    assert_eq!(incident["severity"], "HIGH");
    assert!(
        incident["title"].as_str().unwrap().starts_with("[테스트] "),
        "{incident}"
    );
    assert!(incident["event_id"]
        .as_str()
        .unwrap()
        .starts_with("notify-test-"));
    assert_eq!(
        posted_to(&received, "/gone").len(),
        1,
        "tried once, not again"
    );

    std::fs::write(&config, working).unwrap();
    let output = iamwatch()
        .args(["notify", "test", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(posted_to(&received, "/hook").len(), 2);

    std::fs::write(&config, "listen = \"127.0.0.1:8080\"\n").unwrap();
    let output = iamwatch()
        .args(["notify", "test", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("has no [[notify]] tables"));
}
