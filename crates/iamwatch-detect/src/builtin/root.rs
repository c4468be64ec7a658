//! Anything done by the root user is at least HIGH: AWS's own guidance is that root is used for
//! a handful of account tasks and nothing else.

use super::RuleContext;
use crate::{title, Detection};
use iamwatch_core::Localized;
use iamwatch_core::Severity::*;
use iamwatch_normalise::Event;

pub fn applies(event: &Event<'_>) -> bool {
    // Services acting for the account appear as root with `invokedBy`; that is not a person.
    // Root working in the console carries `invokedBy: signin.amazonaws.com`, and is one.
    let by_a_person = matches!(
        event.identity.invoked_by,
        "" | "signin.amazonaws.com" | "console.amazonaws.com"
    );
    event.identity.is_root() && by_a_person
}

pub fn detect(context: &RuleContext<'_>) -> Option<Detection> {
    let event = context.event;
    if !applies(event) {
        return None;
    }
    let changes_credentials_or_iam = (event.event_source == "iam.amazonaws.com"
        && !event.read_only)
        || event.api == "CreateAccessKey";
    let severity = if changes_credentials_or_iam {
        Critical
    } else {
        High
    };
    let reasons = vec![Localized::new(
        "performed by the root user",
        "루트 사용자가 수행함",
    )];
    Some(Detection::new(
        "root.activity",
        severity,
        title::with_lead(context, "Root account used", "루트 계정 사용"),
        reasons,
    ))
}
