//! A raised incident whose batch the store failed to keep is handed out again, once: the
//! events that raised it, delivered again, raise nothing.

use super::{rules_of, sign_in};
use crate::{rule, CorrelateConfig, Correlator};
use iamwatch_core::Incident;

/// Five failed sign-ins of alice, a minute apart (five in ten minutes: a brute force).
fn failures() -> Vec<Incident> {
    (0..5)
        .map(|n| sign_in(&format!("f{n}"), n, "alice", "203.0.113.9", true))
        .collect()
}

/// `incidents` with what `correlator` raises for them, as a committer makes its batch.
fn batch(correlator: &mut Correlator, incidents: Vec<Incident>) -> Vec<Incident> {
    let raised: Vec<Incident> = incidents
        .iter()
        .flat_map(|incident| correlator.observe(incident))
        .collect();
    incidents.into_iter().chain(raised).collect()
}

#[test]
fn what_was_raised_in_a_batch_the_store_failed_is_given_again_once_and_only_that() {
    let mut correlator = Correlator::new(CorrelateConfig::default());
    let failed = batch(&mut correlator, failures());
    assert_eq!(failed.len(), 6, "five failures and the brute force");
    correlator.keep_unstored(Correlator::raised_among(&failed));

    // Delivered again (the client retries): counted already, nothing raised.
    let retried = batch(&mut correlator, failures());
    assert_eq!(rules_of(&retried[5..]), [] as [&str; 0]);
    let again = correlator.take_unstored();
    assert_eq!(rules_of(&again), [rule::BRUTE_FORCE]);
    assert_eq!(again[0].event_id, "f4/correlate.brute_force");
    assert_eq!(
        again[0].incident_id, failed[5].incident_id,
        "the same incident: stored already, it is a duplicate"
    );
    assert!(correlator.take_unstored().is_empty(), "given once");
}

#[test]
fn a_batch_the_store_failed_without_anything_raised_keeps_nothing() {
    let mut correlator = Correlator::new(CorrelateConfig::default());
    let failed = batch(&mut correlator, failures()[..4].to_vec());
    assert_eq!(failed.len(), 4);
    assert!(Correlator::raised_among(&failed).is_empty());
    correlator.keep_unstored(Correlator::raised_among(&failed));
    assert!(correlator.take_unstored().is_empty());
}
