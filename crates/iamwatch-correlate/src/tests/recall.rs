//! A correlator that starts by recalling the incidents stored before it finds what one that
//! had run all along finds.

use super::{admin_grant, change, rules_of, sign_in, user_target, MINUTE, START};
use crate::{rule, CorrelateConfig, Correlator};
use iamwatch_core::Incident;

const WEEK: i64 = 7 * 24 * 60;

/// A console sign-in by `bob` from a public address (the first-seen detection judges it).
fn from_bob(event_id: &str, minute: i64, ip: &str) -> Incident {
    let mut incident = sign_in(event_id, minute, "bob", ip, false);
    incident.meta.ip_class = "public".to_string();
    incident
}

/// Before a restart: three failed sign-ins, a user created (its MFA grace running), another
/// created by `mallory` (half an escalation), and `bob` learnt from one address for a week.
fn before_restart() -> Vec<Incident> {
    let mut incidents: Vec<Incident> = (0..3)
        .map(|n| sign_in(&format!("f{n}"), WEEK + n, "alice", "203.0.113.9", true))
        .collect();
    let frank = user_target("frank");
    incidents.push(change("u1", WEEK + 3, "admin", "CreateUser", frank));
    let eve = user_target("eve");
    incidents.push(change("u2", WEEK + 4, "mallory", "CreateUser", eve));
    for day in 0..8 {
        incidents.push(from_bob(&format!("b{day}"), day * 24 * 60, "198.51.100.20"));
    }
    incidents.sort_by_key(|incident| incident.event_time_ms);
    incidents
}

/// After it: two more failures (five within ten minutes), the grant that completes the
/// escalation, and `bob` from a new address.
fn after_restart() -> Vec<Incident> {
    let mut incidents: Vec<Incident> = (3..5)
        .map(|n| sign_in(&format!("f{n}"), WEEK + 2 + n, "alice", "203.0.113.9", true))
        .collect();
    incidents.push(admin_grant("g1", WEEK + 20, "mallory", "eve"));
    incidents.push(from_bob("b-new", WEEK + 30, "192.0.2.77"));
    incidents
}

/// What `correlator` raises for the incidents after the restart, then by the clock a day on.
fn raised_after(mut correlator: Correlator) -> Vec<Incident> {
    let mut raised: Vec<Incident> = after_restart()
        .iter()
        .flat_map(|incident| correlator.observe(incident))
        .collect();
    raised.extend(correlator.expire(START + 9 * 24 * 60 * MINUTE));
    raised
}

#[test]
fn a_correlator_that_recalls_the_stored_incidents_raises_what_one_that_ran_on_raises() {
    let mut ran_on = Correlator::new(CorrelateConfig::default());
    let raised_before: Vec<Incident> = before_restart()
        .iter()
        .flat_map(|incident| ran_on.observe(incident))
        .collect();
    assert!(raised_before.is_empty(), "{:?}", rules_of(&raised_before));
    let expected = raised_after(ran_on);
    assert_eq!(
        rules_of(&expected),
        [
            rule::BRUTE_FORCE,
            rule::PRIVILEGE_ESCALATION,
            rule::FIRST_SEEN,
            rule::USER_WITHOUT_MFA,
            rule::USER_WITHOUT_MFA
        ]
    );

    let mut restarted = Correlator::new(CorrelateConfig::default());
    before_restart()
        .iter()
        .for_each(|incident| restarted.recall(incident));
    assert_eq!(raised_after(restarted), expected);

    // Without the recall, every one of those patterns spans the restart and is missed.
    let forgetful = raised_after(Correlator::new(CorrelateConfig::default()));
    assert!(forgetful.is_empty(), "{:?}", rules_of(&forgetful));
}

#[test]
fn what_was_raised_before_the_restart_is_not_raised_again_by_the_recall_or_after_it() {
    let failures: Vec<Incident> = (0..6)
        .map(|n| sign_in(&format!("f{n}"), n, "alice", "203.0.113.9", true))
        .collect();
    let mut restarted = Correlator::new(CorrelateConfig::default());
    // The first five raised a brute force then; it is stored with them.
    failures[..5]
        .iter()
        .for_each(|incident| restarted.recall(incident));
    assert!(
        restarted.observe(&failures[5]).is_empty(),
        "the key raised within the window, as it had before the restart"
    );
}

#[test]
fn the_recall_reaches_back_its_days_and_is_off_with_the_detections_or_at_zero() {
    let now = START + 100 * 24 * 60 * MINUTE;
    let correlator = Correlator::new(CorrelateConfig::default());
    assert_eq!(
        correlator.recall_since(now),
        Some(now - 30 * 24 * 60 * MINUTE)
    );
    let off = CorrelateConfig {
        enabled: false,
        ..CorrelateConfig::default()
    };
    assert_eq!(Correlator::new(off).recall_since(now), None);
    let zero = CorrelateConfig {
        recall_days: 0,
        ..CorrelateConfig::default()
    };
    assert_eq!(Correlator::new(zero).recall_since(now), None);
}
