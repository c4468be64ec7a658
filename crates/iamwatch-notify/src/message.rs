//! What a notification says about an incident, before any destination's format: a headline,
//! labelled lines in the reader's language, the event's time in the reader's zone, the rule's
//! first steps, and a link to the incident on the dashboard.
//!
//! Values come from the CloudTrail record (user names, user agents, resource names), which an
//! attacker can choose; each destination escapes them for its own markup, and every value is
//! cut to [`MAX_VALUE_CHARS`] so that one long field cannot push a message over its limits.

use crate::config::Route;
use iamwatch_core::{Incident, Lang, Severity};

/// Longest value kept in a line, in characters.
pub const MAX_VALUE_CHARS: usize = 200;
/// Runbook steps shown; the dashboard has the rest.
const STEPS_SHOWN: usize = 3;

/// One incident, said for one reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub severity: Severity,
    /// `[HIGH] Access key deleted for alice` (`[높음] …` in Korean).
    pub headline: String,
    pub lines: Vec<Line>,
    /// The rule's first steps, in the reader's language.
    pub steps: Vec<String>,
    /// The incident on the dashboard, when `dashboard_url` is set.
    pub link: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub label: &'static str,
    pub value: String,
    /// Short enough to sit beside another line (chat layouts).
    pub short: bool,
}

pub fn render(incident: &Incident, route: &Route) -> Rendered {
    let lang = route.lang;
    let word = |en: &'static str, ko: &'static str| match lang {
        Lang::En => en,
        Lang::Ko => ko,
    };
    let meta = &incident.meta;
    let mut lines = Vec::with_capacity(12);
    let mut push = |label: &'static str, value: String, short: bool| {
        if !value.trim().is_empty() {
            lines.push(Line {
                label,
                value: cut(&value, MAX_VALUE_CHARS),
                short,
            });
        }
    };
    push(
        word("Severity", "심각도"),
        severity_text(incident.severity, lang),
        true,
    );
    push(
        word("Event", "이벤트"),
        format!(
            "{} ({})",
            incident.event_type.get(lang),
            incident.event_name
        ),
        true,
    );
    push(
        word("Resource", "대상 리소스"),
        incident.resource.clone(),
        false,
    );
    let actor = &meta.actor;
    let who = if actor.name.is_empty() {
        actor.arn.clone()
    } else {
        actor.name.clone()
    };
    let actor_text = match (who.is_empty(), actor.identity_type.is_empty()) {
        (true, _) => String::new(),
        (false, true) => who,
        (false, false) => format!("{who} ({})", actor.identity_type),
    };
    push(word("Actor", "행위자"), actor_text, true);
    let ip = if meta.ip.is_empty() {
        String::new()
    } else {
        // The country, when a GeoIP database gave one, beside the kind of address.
        let about: Vec<&str> = ip_class_text(&meta.ip_class, lang)
            .into_iter()
            .chain(meta.country.as_deref())
            .collect();
        if about.is_empty() {
            meta.ip.clone()
        } else {
            format!("{} ({})", meta.ip, about.join(", "))
        }
    };
    push(word("Source IP", "출발지 IP"), ip, true);
    push(word("Device", "기기"), meta.device.summary.clone(), true);
    let account = match (incident.account.is_empty(), incident.region.is_empty()) {
        (false, false) => format!("{} ({})", incident.account, incident.region),
        (false, true) => incident.account.clone(),
        (true, _) => incident.region.clone(),
    };
    push(word("Account", "계정"), account, true);
    push(
        word("Time", "발생 시각"),
        route.zone.format(incident.event_time_ms),
        true,
    );
    push(word("Rule", "규칙"), incident.rule_id.clone(), true);
    push(
        word("Incident", "인시던트"),
        incident.incident_id.clone(),
        true,
    );
    push(
        word("Why", "판단 근거"),
        meta.reasons_in(lang).join("; "),
        false,
    );
    let steps = meta
        .runbook
        .as_ref()
        .map(|runbook| {
            let steps = match lang {
                Lang::En => &runbook.en,
                Lang::Ko if runbook.ko.is_empty() => &runbook.en,
                Lang::Ko => &runbook.ko,
            };
            steps
                .iter()
                .take(STEPS_SHOWN)
                .map(|step| cut(step, MAX_VALUE_CHARS))
                .collect()
        })
        .unwrap_or_default();
    let link = route.dashboard_url.as_ref().map(|base| {
        format!(
            "{}/#incident={}",
            base.trim_end_matches('/'),
            incident.incident_id
        )
    });
    Rendered {
        severity: incident.severity,
        headline: format!(
            "[{}] {}",
            severity_word(incident.severity, lang),
            cut(incident.title.get(lang), MAX_VALUE_CHARS)
        ),
        lines,
        steps,
        link,
    }
}

impl Rendered {
    /// Plain text: the headline, a line per field, the steps, the link.
    pub fn text(&self, lang: Lang) -> String {
        let mut text = self.headline.clone();
        text.push('\n');
        for line in &self.lines {
            text.push_str(&format!("{}: {}\n", line.label, line.value));
        }
        if !self.steps.is_empty() {
            text.push_str(steps_label(lang));
            text.push_str(":\n");
            for (number, step) in self.steps.iter().enumerate() {
                text.push_str(&format!("  {}. {step}\n", number + 1));
            }
        }
        if let Some(link) = &self.link {
            text.push_str(&format!("{link}\n"));
        }
        text
    }
}

/// The heading of a rule's first steps.
pub fn steps_label(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "First steps",
        Lang::Ko => "초동 조치",
    }
}

/// The incident as machines take it (a webhook's body, SNS's message to queues and functions):
/// `{"type": "incident.created", "incident": {…as the API shows it}, "text", "link"}`.
pub fn document(incident: &Incident, rendered: &Rendered, lang: Lang) -> serde_json::Value {
    let mut document = serde_json::json!({
        "type": "incident.created",
        "incident": incident.view(lang),
        "text": rendered.text(lang),
    });
    if let Some(link) = &rendered.link {
        document["link"] = serde_json::json!(link);
    }
    document
}

/// `3 new incidents: 1 CRITICAL, 2 HIGH` (`새 인시던트 3건: 심각 1, 높음 2`).
pub fn digest_title(incidents: &[Rendered], lang: Lang) -> String {
    let counts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|severity| {
            let count = incidents
                .iter()
                .filter(|incident| incident.severity == *severity)
                .count();
            (count > 0).then(|| format!("{} {count}", severity_word(*severity, lang)))
        })
        .collect();
    match lang {
        Lang::En => format!("{} new incidents: {}", incidents.len(), counts.join(", ")),
        Lang::Ko => format!("새 인시던트 {}건: {}", incidents.len(), counts.join(", ")),
    }
}

pub fn severity_word(severity: Severity, lang: Lang) -> &'static str {
    match lang {
        Lang::En => severity.as_str(),
        Lang::Ko => severity.label_ko(),
    }
}

fn severity_text(severity: Severity, lang: Lang) -> String {
    match lang {
        Lang::En => severity.as_str().to_string(),
        Lang::Ko => format!("{} ({})", severity.label_ko(), severity.as_str()),
    }
}

fn ip_class_text(class: &str, lang: Lang) -> Option<&'static str> {
    Some(match (class, lang) {
        ("public", Lang::En) => "public",
        ("public", Lang::Ko) => "공인",
        ("private", Lang::En) => "private",
        ("private", Lang::Ko) => "사설",
        ("aws_service", Lang::En) => "AWS service",
        ("aws_service", Lang::Ko) => "AWS 서비스",
        ("loopback", Lang::En) => "loopback",
        ("loopback", Lang::Ko) => "루프백",
        ("invalid", Lang::En) => "not an address",
        ("invalid", Lang::Ko) => "잘못된 주소",
        _ => return None,
    })
}

/// At most `limit` characters, an ellipsis in place of the rest; line breaks become spaces (a
/// value is one line in every format).
pub fn cut(text: &str, limit: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match one_line.char_indices().nth(limit.saturating_sub(1)) {
        Some((end, _)) if one_line.chars().count() > limit => {
            format!("{}…", &one_line[..end])
        }
        _ => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_on_a_character_and_kept_on_one_line() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "ab…");
        assert_eq!(cut("가나다라", 3), "가나…");
        assert_eq!(cut("a\nb\tc", 10), "a b c");
        assert_eq!(cut("", 3), "");
    }
}
