//! One record in, at most one incident out.

use iamwatch_core::{Actor, ErrorInfo, Incident, IncidentStatus, Meta, MetaJson};
use iamwatch_detect::{Detector, Finding, Verdict};
use iamwatch_normalise::catalog::service_name;
use iamwatch_normalise::geo::Countries;
use iamwatch_normalise::{device, ip, normalise, Event};
use iamwatch_sources::RecordItem;

#[derive(Debug)]
pub enum Outcome {
    Pass,
    /// On the skip list: the API name.
    Skipped(String),
    Incident(Box<Incident>),
}

/// Normalises and evaluates one record; builds the incident when a rule fires.
pub fn process_record(item: &RecordItem<'_>, detector: &Detector, now_ms: i64) -> Outcome {
    let event = normalise(item, now_ms);
    match detector.evaluate(&event) {
        Verdict::Pass => Outcome::Pass,
        Verdict::Skipped => Outcome::Skipped(event.api.to_string()),
        Verdict::Incident(finding) => {
            let countries = detector.countries();
            Outcome::Incident(Box::new(build_incident(
                &event, *finding, now_ms, countries,
            )))
        }
    }
}

/// The incident for an event a rule fired on; `countries`, when given, says where its public
/// address is.
pub fn build_incident(
    event: &Event<'_>,
    finding: Finding,
    now_ms: i64,
    countries: Option<&Countries>,
) -> Incident {
    let Finding {
        primary,
        rule_ids,
        reasons,
        tags,
        label,
        target,
        access_key,
        details,
        counted,
    } = finding;
    let (reasons, reasons_ko): (Vec<String>, Vec<String>) = reasons
        .into_iter()
        .map(|reason| (reason.en, reason.ko))
        .unzip();
    let mfa_used = details
        .additional
        .get("MFAUsed")
        .and_then(|value| value.as_str())
        .map(|used| used.eq_ignore_ascii_case("yes"));
    let ip_class = ip::classify(event.source_ip);
    let country = countries
        .filter(|_| ip_class == "public")
        .and_then(|countries| countries.country(event.source_ip));
    let mut meta = Meta {
        device: device::device(event.user_agent),
        ip: event.source_ip.to_string(),
        ip_class: ip_class.to_string(),
        country,
        api: event.event_name.to_string(),
        event_source: event.event_source.to_string(),
        access_key,
        actor: Actor {
            identity_type: event.identity.identity_type.to_string(),
            name: event.identity.name().into_owned(),
            arn: event.identity.arn.to_string(),
            account_id: event.identity.account_id.to_string(),
            access_key_id: event.identity.access_key_id.to_string(),
            mfa_authenticated: event.identity.mfa_authenticated,
            invoked_by: event.identity.invoked_by.to_string(),
        },
        error: event.failed().then(|| ErrorInfo {
            code: event.error_code.to_string(),
            message: event.error_message.to_string(),
        }),
        mfa_used,
        envelope: event.item.envelope.as_str().to_string(),
        rules: rule_ids,
        tags,
        runbook: primary.runbook,
        dedup_key: primary.dedup_key,
        reasons,
        reasons_ko,
        notes: [&event.notes[..], &details.notes[..]].concat(),
        target: Some(target.clone()),
    };
    // Written here, where the meta's strings are warm: the store and the JSON lines copy it.
    let meta_json = MetaJson::of(&mut meta);
    Incident {
        // A record without a time gets the same id at every delivery: the id is how the store
        // knows an event it has seen.
        incident_id: Incident::make_id(
            if event.time_known { event.time_ms } else { 0 },
            &event.event_id,
            0,
        ),
        event_id: event.event_id.to_string(),
        event_name: event.event_name.to_string(),
        event_type: label.into(),
        rule_id: primary.rule_id,
        title: primary.title,
        resource: target.id,
        severity: primary.severity,
        status: IncidentStatus::New,
        meta,
        source: service_name(event.event_source).into_owned(),
        account: event.account.to_string(),
        region: event.region.to_string(),
        event_time_ms: event.time_ms,
        created_at: now_ms,
        updated_at: now_ms,
        assignee: None,
        raw: Some(event.raw_text()),
        meta_json,
        counted,
    }
}
