//! Messages compared with golden files (`UPDATE_GOLDEN=1` writes them), made from seed events
//! run through the real pipeline; the dispatcher against a real HTTP receiver on this machine.

use crate::channel::{self, Payload};
use crate::config::ChannelConfig;
use crate::dispatch::Notifier;
use crate::message::render;
use iamwatch_core::{Incident, Severity};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The seed events' incidents, by API name, from the repository's fixture; their public
/// addresses' countries from the tests' GeoIP database.
fn incidents() -> Vec<Incident> {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let body = std::fs::read(fixtures.join("seed_events.jsonl")).unwrap();
    let countries =
        iamwatch_normalise::geo::Countries::open(&fixtures.join("geoip/countries.mmdb")).unwrap();
    let detector = iamwatch_detect::Detector::new(
        iamwatch_detect::DetectorConfig {
            countries: Some(Arc::new(countries)),
            ..iamwatch_detect::DetectorConfig::default()
        },
        Arc::new(iamwatch_detect::builtin_rules()),
    );
    let chunk = iamwatch_pipeline::read_body(body, "seed_events.jsonl", &detector);
    assert!(chunk.bad.is_empty(), "{:?}", chunk.bad);
    // Store times are the clock's; golden files hold a fixed one.
    let mut incidents = chunk.incidents;
    for incident in &mut incidents {
        incident.created_at = 1_717_300_000_000;
        incident.updated_at = 1_717_300_000_000;
    }
    incidents
}

fn pick(names: &[&str]) -> Vec<Arc<Incident>> {
    let all = incidents();
    names
        .iter()
        .map(|name| {
            let found = all
                .iter()
                .find(|incident| incident.event_name == *name)
                .unwrap_or_else(|| panic!("an incident of {name}"));
            Arc::new(found.clone())
        })
        .collect()
}

fn route(lang: &str, extra: &str) -> crate::Route {
    let text = format!(
        "kind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\nlang = \"{lang}\"\ndashboard_url = \"https://iamwatch.example.com/\"\n{extra}"
    );
    let config: ChannelConfig = toml::from_str(&text).unwrap();
    config.check(0, &|_| None).unwrap().0
}

/// The value of a message's line labelled `label` (in whichever language the route reads).
fn line_value(incident: &Incident, route: &crate::Route, labels: [&str; 2]) -> String {
    render(incident, route)
        .lines
        .into_iter()
        .find(|line| labels.contains(&line.label))
        .unwrap_or_else(|| panic!("a line labelled {labels:?}"))
        .value
}

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} exists (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert_eq!(actual, expected, "{name} differs from its golden file");
}

fn json_bodies(outgoing: &[channel::Outgoing]) -> String {
    let bodies: Vec<serde_json::Value> = outgoing
        .iter()
        .map(|message| match &message.payload {
            Payload::Json { body, .. } => serde_json::from_slice(body).unwrap(),
            Payload::Sns(publication) => serde_json::json!({
                "subject": publication.subject,
                "message": serde_json::from_str::<serde_json::Value>(&publication.message).unwrap(),
                "attributes": publication.attributes,
            }),
            Payload::Email { subject, text } => {
                serde_json::json!({"subject": subject, "text": text})
            }
        })
        .collect();
    serde_json::to_string_pretty(&bodies).unwrap() + "\n"
}

const FAMILIES: [&str; 3] = ["DeactivateMFADevice", "CreateAccessKey", "AttachUserPolicy"];

#[test]
fn messages_in_each_destinations_format_match_their_golden_files() {
    let batch = pick(&FAMILIES);
    for lang in ["en", "ko"] {
        let route = route(lang, "");
        golden(
            &format!("discord.{lang}.json"),
            &json_bodies(&channel::chat::discord_messages(&batch, &route)),
        );
        golden(
            &format!("slack.{lang}.json"),
            &json_bodies(&channel::chat::slack_messages(&batch, &route)),
        );
        golden(
            &format!("webhook.{lang}.json"),
            &json_bodies(&channel::webhook::messages(&batch[..1], &route)),
        );
        golden(
            &format!("sns.{lang}.json"),
            &json_bodies(&channel::sns::messages(&batch[..1], &route)),
        );
        golden(
            &format!("email.{lang}.json"),
            &json_bodies(&channel::email::messages(&batch, &route)),
        );
    }
}

#[test]
fn korean_messages_say_kst_and_english_ones_utc_unless_a_zone_is_set() {
    let incident = &pick(&["DeactivateMFADevice"])[0];
    // The event happened at 2024-06-01T09:00:xxZ.
    let time = |route: &crate::Route| line_value(incident, route, ["Time", "발생 시각"]);
    assert!(time(&route("ko", "")).starts_with("2024-06-01 18:00:"));
    assert!(time(&route("ko", "")).ends_with(" KST"));
    assert!(time(&route("en", "")).starts_with("2024-06-01 09:00:"));
    assert!(time(&route("en", "")).ends_with(" UTC"));
    let berlin = time(&route("ko", "timezone = \"Europe/Berlin\""));
    assert!(
        berlin.starts_with("2024-06-01 11:00:") && berlin.ends_with(" CEST"),
        "{berlin}"
    );
}

#[test]
fn a_message_gives_the_reasons_in_the_readers_language() {
    let incident = &pick(&["AttachUserPolicy"])[0];
    let why = |lang: &str| line_value(incident, &route(lang, ""), ["Why", "판단 근거"]);
    assert!(
        why("en").contains("grants administrator access"),
        "{}",
        why("en")
    );
    assert!(why("ko").contains("관리자 권한 부여"), "{}", why("ko"));
    // An incident stored before Korean reasons were kept shows its English ones.
    let mut older = (**incident).clone();
    older.meta.reasons_ko.clear();
    assert_eq!(
        line_value(&older, &route("ko", ""), ["Why", "판단 근거"]),
        why("en")
    );
}

#[test]
fn a_discord_message_stays_within_discords_limits_however_long_the_values() {
    let mut long = (*pick(&["DeactivateMFADevice"])[0]).clone();
    long.meta.device.summary = "x".repeat(5000);
    long.resource = "@everyone ".repeat(500);
    long.title.en = "t".repeat(1000);
    let batch: Vec<Arc<Incident>> = (0..25).map(|_| Arc::new(long.clone())).collect();
    let messages = channel::chat::discord_messages(&batch, &route("en", ""));
    assert_eq!(messages.iter().map(|m| m.incidents).sum::<usize>(), 25);
    for message in &messages {
        let Payload::Json { body, .. } = &message.payload else {
            panic!("JSON")
        };
        let body: serde_json::Value = serde_json::from_slice(body).unwrap();
        let embeds = body["embeds"].as_array().unwrap();
        assert!(embeds.len() <= 10);
        let mut chars = 0;
        for embed in embeds {
            let title = embed["title"].as_str().unwrap().chars().count();
            assert!(title <= 256, "title {title}");
            chars += title;
            for field in embed["fields"].as_array().unwrap() {
                let value = field["value"].as_str().unwrap();
                assert!(value.chars().count() <= 1024);
                assert!(!value.contains(" @everyone"), "mentions are escaped");
                chars += value.chars().count() + field["name"].as_str().unwrap().chars().count();
            }
        }
        assert!(chars <= 6000, "{chars} characters in one message");
        assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
    }
}

#[test]
fn a_sns_subject_is_short_ascii_on_one_line() {
    let mut incident = (*pick(&["DeactivateMFADevice"])[0]).clone();
    incident.resource = format!("사용자\n{}", "r".repeat(300));
    let subject = channel::sns::subject(&incident);
    assert!(subject.len() < 100, "{subject}");
    assert!(
        subject.bytes().all(|byte| (0x20..0x7f).contains(&byte)),
        "{subject}"
    );
    assert!(
        subject.starts_with("[iamwatch] HIGH DeactivateMFADevice ???"),
        "{subject}"
    );
}

/// A webhook receiver on this machine: answers each request with the next status of `script`
/// (then 200), and keeps what it was sent.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<(Instant, axum::http::HeaderMap, serde_json::Value)>>>,
}

async fn receiver(script: Vec<u16>) -> Receiver {
    use axum::http::StatusCode;
    let received = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(Mutex::new(script.into_iter()));
    let kept = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let kept = Arc::clone(&kept);
                let script = Arc::clone(&script);
                async move {
                    let status = script.lock().unwrap().next().unwrap_or(200);
                    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                    kept.lock().unwrap().push((Instant::now(), headers, body));
                    let mut response = axum::response::Response::new(axum::body::Body::from(
                        r#"{"retry_after": 0.2}"#,
                    ));
                    *response.status_mut() = StatusCode::from_u16(status).unwrap();
                    response
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, received }
}

async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn each_destination_gets_what_its_severity_asks_and_passing_failures_are_retried() {
    // The first call is refused with 503, then rate-limited (Discord's 429, retry_after in
    // the body), then accepted: one incident, delivered once, after two retries.
    let flaky = receiver(vec![503, 429]).await;
    let picky = receiver(vec![]).await;
    let configs: Vec<ChannelConfig> = toml::from_str::<toml::Table>(&format!(
        "[[notify]]\nkind = \"webhook\"\nname = \"flaky\"\nmin_severity = \"medium\"\nurl = \"{}\"\nsecret_env = \"KEY\"\n\
         [[notify]]\nkind = \"discord\"\nname = \"critical-only\"\nmin_severity = \"CRITICAL\"\nurl = \"{}\"\n",
        flaky.url, picky.url
    ))
    .unwrap()["notify"]
        .clone()
        .try_into()
        .unwrap();
    let env = |name: &str| (name == "KEY").then(|| "k3y".to_string());
    let notifier = Notifier::start(&configs, &env).await.unwrap();
    let batch = pick(&FAMILIES);
    let severities: Vec<Severity> = batch.iter().map(|incident| incident.severity).collect();
    for incident in &batch {
        notifier.offer(incident);
    }
    let wanted_by_flaky = severities
        .iter()
        .filter(|s| **s >= Severity::Medium)
        .count();
    let wanted_by_picky = severities
        .iter()
        .filter(|s| **s == Severity::Critical)
        .count();
    assert!(
        wanted_by_picky >= 1 && wanted_by_flaky > wanted_by_picky,
        "{severities:?}"
    );
    let stats = |name: &str| {
        let (_, _, stats) = notifier.stats().find(|(n, _, _)| *n == name).unwrap();
        (
            stats.sent.load(Ordering::Relaxed) as usize,
            stats.retries.load(Ordering::Relaxed),
            stats.failed.load(Ordering::Relaxed),
        )
    };
    wait_until("the flaky webhook's deliveries", || {
        stats("flaky").0 == wanted_by_flaky && stats("critical-only").0 == wanted_by_picky
    })
    .await;
    assert_eq!(stats("flaky"), (wanted_by_flaky, 2, 0));
    let received = flaky.received.lock().unwrap().clone();
    // Two refused calls, then each incident once.
    assert_eq!(received.len(), wanted_by_flaky + 2);
    let delivered: Vec<&str> = received[2..]
        .iter()
        .map(|(_, _, body)| body["incident"]["incident_id"].as_str().unwrap())
        .collect();
    let mut unique = delivered.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), wanted_by_flaky);
    // The retry honoured the 0.2 s the receiver asked for, not less.
    assert!(received[2].0 - received[1].0 >= Duration::from_millis(190));
    for (_, headers, body) in &received[2..] {
        let timestamp: i64 = headers["x-iamwatch-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let raw = serde_json::to_vec(body).unwrap();
        // The receiver re-serialised the body; the signature is over the bytes sent, which
        // serde_json writes identically (keys kept in order).
        assert_eq!(
            headers["x-iamwatch-signature"].to_str().unwrap(),
            channel::webhook::signature(&iamwatch_core::Secret::new("k3y"), timestamp, &raw)
        );
        assert_eq!(
            headers["x-iamwatch-delivery"].to_str().unwrap(),
            body["incident"]["incident_id"].as_str().unwrap()
        );
    }
    let picked = picky.received.lock().unwrap().clone();
    let sent_critical: usize = picked
        .iter()
        .map(|(_, _, body)| body["embeds"].as_array().unwrap().len())
        .sum();
    assert_eq!(sent_critical, wanted_by_picky);
    assert!(picked
        .iter()
        .flat_map(|(_, _, body)| body["embeds"].as_array().unwrap().clone())
        .all(|embed| embed["title"].as_str().unwrap().starts_with("[CRITICAL]")));
    notifier.finish(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_destination_that_refuses_for_good_is_not_retried_and_a_full_queue_drops_without_waiting()
{
    let refusing = receiver(vec![404; 100]).await;
    let configs: Vec<ChannelConfig> = vec![toml::from_str(&format!(
        "kind = \"slack\"\nmin_severity = \"LOW\"\nqueue = 2\nurl = \"{}\"",
        refusing.url
    ))
    .unwrap()];
    let notifier = Notifier::start(&configs, &|_| None).await.unwrap();
    let incident = &pick(&["DeactivateMFADevice"])[0];
    let started = Instant::now();
    for _ in 0..1000 {
        notifier.offer(incident);
    }
    // Offering never waits for the destination (a generous bound: 1,000 offers).
    assert!(started.elapsed() < Duration::from_secs(2));
    let (_, _, stats) = notifier.stats().next().unwrap();
    wait_until("the refused messages", || {
        let settled = stats.failed.load(Ordering::Relaxed) + stats.dropped.load(Ordering::Relaxed);
        settled == 1000
    })
    .await;
    assert_eq!(stats.sent.load(Ordering::Relaxed), 0);
    assert_eq!(stats.retries.load(Ordering::Relaxed), 0);
    assert!(stats.dropped.load(Ordering::Relaxed) > 900);
    // One call per message: a 404 is not tried again.
    let calls = refusing.received.lock().unwrap().len() as u64;
    assert!(calls >= 1 && calls <= stats.failed.load(Ordering::Relaxed));
}

#[tokio::test]
async fn what_is_owed_is_written_off_once_sent_given_up_on_or_forgiven() {
    let accepting = receiver(vec![]).await;
    // 400: not a passing failure, given up on at once.
    let refusing = receiver(vec![400; 8]).await;
    let configs: Vec<ChannelConfig> = toml::from_str::<toml::Table>(&format!(
        "[[notify]]\nkind = \"webhook\"\nname = \"accepting\"\nmin_severity = \"LOW\"\nurl = \"{}\"\n\
         [[notify]]\nkind = \"webhook\"\nname = \"refusing\"\nmin_severity = \"LOW\"\nurl = \"{}\"\n",
        accepting.url, refusing.url
    ))
    .unwrap()["notify"]
        .clone()
        .try_into()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.jsonl");
    let (outbox, _) = crate::Outbox::open(&path).unwrap();
    let notifier = Notifier::start_with(&configs, &|_| None, Some(outbox))
        .await
        .unwrap();
    let batch: Vec<Incident> = pick(&FAMILIES).iter().map(|i| (**i).clone()).collect();
    let owed = notifier.owe(&batch);
    assert_eq!(
        owed.iter().map(Vec::len).collect::<Vec<_>>(),
        [2, 2, 2],
        "three incidents, two destinations each"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 6, "{text}");
    // The third was stored before (a duplicate): not offered, forgiven.
    notifier.forgive(&owed[2]);
    notifier.offer(&batch[0]);
    notifier.offer(&batch[1]);
    assert!(notifier.settled(Duration::from_secs(20)).await);
    assert_eq!(accepting.received.lock().unwrap().len(), 2);
    assert_eq!(refusing.received.lock().unwrap().len(), 2);
    // Nothing owed any more: the outbox is empty.
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
}

#[tokio::test]
async fn two_destinations_of_one_name_are_refused() {
    let configs: Vec<ChannelConfig> = toml::from_str::<toml::Table>(
        "[[notify]]\nkind = \"webhook\"\nname = \"ops\"\nurl = \"http://127.0.0.1:9/a\"\n\
         [[notify]]\nkind = \"webhook\"\nname = \"ops\"\nurl = \"http://127.0.0.1:9/b\"\n",
    )
    .unwrap()["notify"]
        .clone()
        .try_into()
        .unwrap();
    let error = Notifier::start(&configs, &|_| None).await.err().unwrap();
    assert_eq!(
        error.to_string(),
        "[[notify]] #2 (webhook \"ops\"): another [[notify]] has this name; give each its own"
    );
}
