//! The stateful detections on incidents shaped as the pipeline makes them (the scan's
//! end-to-end test, `tests/cli/correlate.rs`, runs them on CloudTrail records).

use crate::{rule, CorrelateConfig, Correlator};
use iamwatch_core::{
    Actor, ErrorInfo, Incident, IncidentStatus, Localized, Meta, MetaJson, Severity, Target,
};
use iamwatch_detect::reasons::{CONSOLE_SIGN_IN_FAILED, GRANTS_ADMINISTRATOR_ACCESS};

mod countries;
mod recall;
mod threshold;
mod unstored;

const ACCOUNT: &str = "111122223333";
const MINUTE: i64 = 60_000;
const START: i64 = 1_764_000_000_000;

fn incident(event_id: &str, minute: i64, event_name: &str, source: &str) -> Incident {
    Incident {
        incident_id: format!("inc-{event_id}"),
        event_id: event_id.to_string(),
        event_name: event_name.to_string(),
        event_type: Localized::new(event_name, event_name),
        rule_id: "iam.other_change".to_string(),
        title: Localized::new(event_name, event_name),
        resource: String::new(),
        severity: Severity::Medium,
        status: IncidentStatus::New,
        meta: Meta {
            event_source: source.to_string(),
            ip: "198.51.100.7".to_string(),
            api: event_name.to_string(),
            ..Meta::default()
        },
        source: String::new(),
        account: ACCOUNT.to_string(),
        region: "us-east-1".to_string(),
        event_time_ms: START + minute * MINUTE,
        created_at: START + minute * MINUTE + 1_000,
        updated_at: START + minute * MINUTE + 1_000,
        assignee: None,
        raw: Some("{}".to_string()),
        meta_json: MetaJson::default(),
        counted: Vec::new(),
    }
}

fn by_user(mut incident: Incident, user: &str) -> Incident {
    incident.meta.actor = Actor {
        identity_type: "IAMUser".to_string(),
        name: user.to_string(),
        arn: format!("arn:aws:iam::{ACCOUNT}:user/{user}"),
        account_id: ACCOUNT.to_string(),
        ..Actor::default()
    };
    incident
}

fn sign_in(event_id: &str, minute: i64, user: &str, ip: &str, failed: bool) -> Incident {
    let mut incident = by_user(
        incident(event_id, minute, "ConsoleLogin", "signin.amazonaws.com"),
        user,
    );
    incident.meta.ip = ip.to_string();
    if failed {
        incident.meta.reasons = vec![CONSOLE_SIGN_IN_FAILED.to_string()];
    }
    incident
}

fn change(event_id: &str, minute: i64, actor: &str, api: &str, target: Target) -> Incident {
    let mut incident = by_user(incident(event_id, minute, api, "iam.amazonaws.com"), actor);
    incident.meta.target = Some(target);
    incident
}

fn user_target(name: &str) -> Target {
    Target {
        kind: "user".to_string(),
        id: name.to_string(),
        principal: String::new(),
    }
}

fn policy_on(user: &str) -> Target {
    Target {
        kind: "policy".to_string(),
        id: "arn:aws:iam::aws:policy/AdministratorAccess".to_string(),
        principal: format!("user/{user}"),
    }
}

fn admin_grant(event_id: &str, minute: i64, actor: &str, user: &str) -> Incident {
    let mut incident = change(event_id, minute, actor, "AttachUserPolicy", policy_on(user));
    incident.meta.reasons = vec![GRANTS_ADMINISTRATOR_ACCESS.to_string()];
    incident
}

/// Every incident through one correlator, in order; what it raised.
fn run(config: CorrelateConfig, incidents: &[Incident]) -> Vec<Incident> {
    let mut correlator = Correlator::new(config);
    incidents
        .iter()
        .flat_map(|incident| correlator.observe(incident))
        .collect()
}

fn rules_of(raised: &[Incident]) -> Vec<&str> {
    raised
        .iter()
        .map(|incident| incident.rule_id.as_str())
        .collect()
}

#[test]
fn five_failed_sign_ins_in_ten_minutes_raise_once_and_a_success_after_them_raises_again() {
    let mut incidents: Vec<Incident> = (0..8)
        .map(|n| sign_in(&format!("f{n}"), n, "alice", "203.0.113.9", true))
        .collect();
    incidents.push(sign_in("ok", 9, "alice", "203.0.113.9", false));
    let raised = run(CorrelateConfig::default(), &incidents);
    assert_eq!(
        rules_of(&raised),
        [rule::BRUTE_FORCE, rule::SIGN_IN_AFTER_FAILURES]
    );
    let brute = &raised[0];
    assert_eq!(brute.event_id, "f4/correlate.brute_force");
    assert_eq!(brute.severity, Severity::High);
    assert_eq!(brute.resource, "alice");
    assert_eq!(brute.event_time_ms, START + 4 * MINUTE);
    assert_eq!(
        brute.title.en,
        "5 failed console sign-ins for alice within 10 min"
    );
    assert_eq!(brute.title.ko, "10분 안에 alice 콘솔 로그인 5회 실패");
    assert_eq!(
        brute.meta.notes[0],
        "incidents: inc-f0, inc-f1, inc-f2, inc-f3, inc-f4"
    );
    assert_eq!(brute.meta.rules, [rule::BRUTE_FORCE]);
    assert_eq!(brute.meta.tags, ["T1110.001"]);
    assert!(brute.raw.is_none());
    assert_eq!(
        brute.incident_id,
        Incident::make_id(brute.event_time_ms, &brute.event_id, 0)
    );
    let after = &raised[1];
    assert_eq!(after.event_id, "ok/correlate.sign_in_after_failures");
    assert_eq!(after.severity, Severity::High);
    assert_eq!(after.title.en, "alice signed in after 5 failed attempts");
    // The events counted are the last five failures and the success.
    assert_eq!(after.meta.notes[1], "events: f3, f4, f5, f6, f7, ok");
    // Its reasons, in each language (not the trigger's).
    assert_eq!(
        after.meta.reasons,
        ["alice signed in to the console from 203.0.113.9 after 5 failed attempts"]
    );
    assert_eq!(
        after.meta.reasons_ko,
        ["alice이(가) 5회 실패 후 203.0.113.9에서 콘솔에 로그인함"]
    );
    assert_eq!(brute.meta.reasons_ko, [brute.title.ko.as_str()]);
}

#[test]
fn failures_spread_out_or_delivered_twice_raise_nothing() {
    // Four failures, each delivered twice, then one more twelve minutes later.
    let mut incidents = Vec::new();
    for n in 0..4 {
        let failure = sign_in(&format!("f{n}"), n, "bob", "203.0.113.9", true);
        incidents.push(failure.clone());
        incidents.push(failure);
    }
    incidents.push(sign_in("late", 12, "bob", "203.0.113.9", true));
    incidents.push(sign_in("ok", 13, "bob", "203.0.113.9", false));
    assert_eq!(
        rules_of(&run(CorrelateConfig::default(), &incidents)),
        [] as [&str; 0]
    );
}

#[test]
fn failures_for_many_users_from_one_address_raise_by_the_address_and_root_is_critical() {
    let spray: Vec<Incident> = (0..5)
        .map(|n| {
            sign_in(
                &format!("s{n}"),
                n,
                &format!("user{n}"),
                "203.0.113.50",
                true,
            )
        })
        .collect();
    let raised = run(CorrelateConfig::default(), &spray);
    assert_eq!(rules_of(&raised), [rule::BRUTE_FORCE]);
    assert_eq!(raised[0].resource, "203.0.113.50");
    assert_eq!(raised[0].meta.target.as_ref().unwrap().kind, "ip");
    assert_eq!(
        raised[0].title.ko,
        "10분 안에 203.0.113.50에서 콘솔 로그인 5회 실패"
    );

    let root: Vec<Incident> = (0..5)
        .map(|n| {
            let mut failure = sign_in(&format!("r{n}"), n, "root", &format!("192.0.2.{n}"), true);
            failure.meta.actor.identity_type = "Root".to_string();
            failure
        })
        .collect();
    let raised = run(CorrelateConfig::default(), &root);
    assert_eq!(rules_of(&raised), [rule::BRUTE_FORCE]);
    assert_eq!(raised[0].severity, Severity::Critical);

    // A name CloudTrail hides is no user to count under.
    let hidden: Vec<Incident> = (0..5)
        .map(|n| {
            sign_in(
                &format!("h{n}"),
                n,
                "HIDDEN_DUE_TO_SECURITY_REASONS",
                &format!("192.0.2.{n}"),
                true,
            )
        })
        .collect();
    assert!(run(CorrelateConfig::default(), &hidden).is_empty());
}

#[test]
fn thirty_changes_by_one_principal_in_five_minutes_are_a_burst() {
    let burst: Vec<Incident> = (0..31)
        .map(|n| {
            change(
                &format!("c{n}"),
                n / 10,
                "mallory",
                "CreateUser",
                user_target(&format!("u{n}")),
            )
        })
        .collect();
    let mut config = CorrelateConfig::default();
    config.mfa_grace.enabled = false;
    let raised = run(config.clone(), &burst);
    assert_eq!(rules_of(&raised), [rule::BURST]);
    assert_eq!(raised[0].event_id, "c29/correlate.burst");
    assert_eq!(raised[0].severity, Severity::Medium);
    assert_eq!(
        raised[0].title.en,
        "mallory made 30 IAM changes within 5 min"
    );
    // Failed calls change nothing: they do not count.
    let failed: Vec<Incident> = burst
        .into_iter()
        .map(|mut incident| {
            incident.meta.error = Some(ErrorInfo {
                code: "AccessDenied".to_string(),
                message: String::new(),
            });
            incident
        })
        .collect();
    assert!(run(config.clone(), &failed).is_empty());
    config.burst.enabled = false;
    assert!(run(config, &failed).is_empty());
}

#[test]
fn creating_a_user_and_making_it_an_administrator_is_an_escalation() {
    let mut config = CorrelateConfig::default();
    config.mfa_grace.enabled = false;
    let sequence = [
        change("u", 0, "mallory", "CreateUser", user_target("backdoor")),
        admin_grant("a", 20, "mallory", "backdoor"),
        // Again later: raised once.
        admin_grant("a2", 21, "mallory", "backdoor"),
    ];
    let raised = run(config.clone(), &sequence);
    assert_eq!(rules_of(&raised), [rule::PRIVILEGE_ESCALATION]);
    assert_eq!(raised[0].severity, Severity::Critical);
    assert_eq!(
        raised[0].title.en,
        "mallory created user/backdoor and gave it administrator access"
    );
    assert_eq!(
        raised[0].title.ko,
        "mallory: backdoor 생성 후 관리자 권한 부여"
    );
    assert_eq!(raised[0].meta.notes[1], "events: u, a");

    // A password given and admin granted, the other way round, also is.
    let other_order = [
        admin_grant("a", 0, "mallory", "carol"),
        change(
            "p",
            30,
            "mallory",
            "CreateLoginProfile",
            user_target("carol"),
        ),
    ];
    let raised = run(config.clone(), &other_order);
    assert_eq!(rules_of(&raised), [rule::PRIVILEGE_ESCALATION]);
    assert_eq!(
        raised[0].title.en,
        "mallory gave user/carol both credentials and administrator access"
    );

    // Steps by two callers, or more than an hour apart, are not one sequence.
    let apart = [
        change("u", 0, "alice", "CreateUser", user_target("dave")),
        admin_grant("a", 5, "bob", "dave"),
        change("u2", 10, "alice", "CreateUser", user_target("erin")),
        admin_grant("a2", 71, "alice", "erin"),
    ];
    assert!(run(config.clone(), &apart).is_empty());

    // Granting oneself administrator access is one at once.
    let raised = run(config, &[admin_grant("self", 0, "mallory", "mallory")]);
    assert_eq!(rules_of(&raised), [rule::PRIVILEGE_ESCALATION]);
    assert_eq!(
        raised[0].title.en,
        "mallory gave itself administrator access"
    );
}

#[test]
fn a_user_still_without_mfa_after_the_grace_period_is_raised_when_time_passes_it() {
    let created = [
        change("u1", 0, "admin", "CreateUser", user_target("frank")),
        change("p1", 1, "admin", "CreateLoginProfile", user_target("frank")),
        change("u2", 2, "admin", "CreateUser", user_target("grace")),
        change("u3", 3, "admin", "CreateUser", user_target("heidi")),
    ];
    let mut mfa = change(
        "m3",
        60,
        "heidi",
        "EnableMFADevice",
        Target {
            kind: "mfa_device".to_string(),
            id: "arn:aws:iam::111122223333:mfa/heidi".to_string(),
            principal: "user/heidi".to_string(),
        },
    );
    mfa.severity = Severity::Low;
    let mut correlator = Correlator::new(CorrelateConfig::default());
    let mut raised: Vec<Incident> = created
        .iter()
        .chain([&mfa])
        .flat_map(|incident| correlator.observe(incident))
        .collect();
    assert!(raised.is_empty(), "{:?}", rules_of(&raised));
    // A day later by the clock (serve), or by a later event's time (a scan).
    raised.extend(correlator.expire(START + 24 * 60 * MINUTE + 30_000));
    assert_eq!(rules_of(&raised), [rule::USER_WITHOUT_MFA]);
    assert_eq!(raised[0].resource, "frank");
    assert_eq!(raised[0].severity, Severity::Medium);
    assert_eq!(raised[0].event_id, "u1/correlate.user_without_mfa");
    assert_eq!(raised[0].event_time_ms, START + 24 * 60 * MINUTE);
    assert_eq!(
        raised[0].title.en,
        "frank can sign in to the console and still has no MFA device 24 h after it was created"
    );
    // heidi's creation delivered again after her MFA device: she does not wait again.
    assert!(correlator.observe(&created[3]).is_empty());
    let later = change("x", 24 * 60 + 5, "admin", "TagUser", user_target("zed"));
    let raised = correlator.observe(&later);
    assert_eq!(rules_of(&raised), [rule::USER_WITHOUT_MFA]);
    assert_eq!(raised[0].resource, "grace");
    assert_eq!(raised[0].severity, Severity::Low);
    assert!(
        correlator.expire(i64::MAX).is_empty(),
        "each user raised once, heidi never"
    );
}

#[test]
fn turned_off_it_raises_nothing_and_holds_nothing() {
    let config = CorrelateConfig {
        enabled: false,
        ..CorrelateConfig::default()
    };
    let mut correlator = Correlator::new(config);
    for n in 0..10 {
        assert!(correlator
            .observe(&sign_in(&format!("f{n}"), n, "alice", "203.0.113.9", true))
            .is_empty());
    }
    assert_eq!(correlator.held(), 0);
}

#[test]
fn a_rule_turned_off_or_given_a_severity_is_configured_as_other_rules_are() {
    let failures: Vec<Incident> = (0..5)
        .map(|n| sign_in(&format!("f{n}"), n, "alice", "203.0.113.9", true))
        .collect();
    let mut config = CorrelateConfig::default();
    config
        .severities
        .insert(rule::BRUTE_FORCE.to_string(), Severity::Critical);
    let raised = run(config.clone(), &failures);
    assert_eq!(rules_of(&raised), [rule::BRUTE_FORCE]);
    assert_eq!(raised[0].severity, Severity::Critical);
    config.disabled.insert(rule::BRUTE_FORCE.to_string());
    assert!(run(config, &failures).is_empty());
    assert!(rule::CATALOGUE
        .iter()
        .all(|listed| rule::is_rule(listed.id)));
    assert!(!rule::is_rule("iam.user_change"));
}

#[test]
fn changes_by_people_outside_working_hours_in_the_teams_zone_raise_once_an_hour() {
    let mut config = CorrelateConfig::default();
    config.mfa_grace.enabled = false;
    config.off_hours.enabled = true;
    config.off_hours.timezone = "Asia/Seoul".to_string();
    config.check().unwrap();
    let tag =
        |id: &str, minute: i64, who: &str| change(id, minute, who, "TagUser", user_target("carol"));
    let mut automation = tag("robot", 0, "deployer");
    automation.meta.actor.identity_type = "AssumedRole".to_string();
    automation.meta.actor.arn = "arn:aws:sts::111122223333:assumed-role/deployer/ci".to_string();
    // START is Monday 16:00 UTC: Tuesday 01:00 in Seoul.
    let raised = run(
        config.clone(),
        &[
            tag("night", 0, "alice"),
            tag("same-hour", 30, "alice"),
            tag("next-hour", 61, "alice"),
            automation,
            tag("morning", 8 * 60 + 30, "bob"),
            tag("saturday", 4 * 24 * 60 + 10 * 60, "bob"),
        ],
    );
    let found: Vec<(&str, &str)> = raised
        .iter()
        .map(|incident| (incident.event_id.as_str(), incident.title.en.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "night/correlate.off_hours",
                "alice changed IAM outside working hours (Tue 01:00 KST)"
            ),
            (
                "next-hour/correlate.off_hours",
                "alice changed IAM outside working hours (Tue 02:01 KST)"
            ),
            (
                "saturday/correlate.off_hours",
                "bob changed IAM outside working hours (Sat 11:00 KST)"
            ),
        ]
    );
    assert_eq!(
        raised[0].title.ko,
        "alice: 업무 시간 외 IAM 변경 (Tue 01:00 KST)"
    );
    // The same hours in UTC: Monday 16:00 is working time.
    config.off_hours.timezone = "UTC".to_string();
    assert!(run(config.clone(), &[tag("afternoon", 0, "alice")]).is_empty());
    // Off by default.
    assert!(run(CorrelateConfig::default(), &[tag("night", 0, "alice")]).is_empty());

    config.off_hours.timezone = "Mars/Olympus".to_string();
    assert!(config
        .check()
        .unwrap_err()
        .starts_with("[correlate.off_hours] timezone"));
    config.off_hours.timezone = "UTC".to_string();
    config.off_hours.start_hour = 18;
    assert!(config
        .check()
        .unwrap_err()
        .contains("start before they end"));
}

#[test]
fn a_new_address_or_client_raises_only_after_the_learning_week() {
    const DAY: i64 = 24 * 60;
    let from = |id: &str, minute: i64, ip: &str, client: &str| {
        let mut incident = sign_in(id, minute, "alice", ip, false);
        incident.meta.ip_class = if ip == "AWS Internal" {
            "aws_service"
        } else {
            "public"
        }
        .to_string();
        incident.meta.device.summary = client.to_string();
        incident
    };
    let raised = run(
        CorrelateConfig::default(),
        &[
            from("d0", 0, "203.0.113.1", "Chrome 131 on macOS"),
            // Still learning: new addresses and clients are learnt, not raised.
            from("d1", DAY, "203.0.113.2", "aws-cli 2.17 on Linux"),
            // A week on: known address and client (a newer Chrome is no new client).
            from("d8", 8 * DAY, "203.0.113.2", "Chrome 132 on macOS"),
            from(
                "d8-new-ip",
                8 * DAY + 5,
                "198.51.100.9",
                "Chrome 132 on macOS",
            ),
            from("d9-both", 9 * DAY, "192.0.2.77", "Firefox 133 on Windows"),
            from(
                "d9-aws",
                9 * DAY + 1,
                "AWS Internal",
                "aws-cli 2.17 on Linux",
            ),
        ],
    );
    let found: Vec<(&str, Severity, &str)> = raised
        .iter()
        .map(|incident| {
            (
                incident.event_id.as_str(),
                incident.severity,
                incident.title.en.as_str(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "d8-new-ip/correlate.first_seen",
                Severity::Low,
                "alice used a new address (198.51.100.9)"
            ),
            (
                "d9-both/correlate.first_seen",
                Severity::Medium,
                "alice used a new address (192.0.2.77) and a new client (Firefox on Windows)"
            ),
        ]
    );
    assert_eq!(
        raised[1].title.ko,
        "alice: 처음 보는 주소 (192.0.2.77)와 클라이언트 (Firefox on Windows)"
    );
    let mut off = CorrelateConfig::default();
    off.first_seen.enabled = false;
    assert!(run(
        off,
        &[
            from("d0", 0, "203.0.113.1", "x"),
            from("d9", 9 * DAY, "192.0.2.1", "y")
        ]
    )
    .is_empty());
}
