//! How incidents are shown: JSON Lines for machines, a table for people (times in UTC for
//! English readers, KST for Korean readers).

use iamwatch_core::{time, Incident, Lang};
use std::io::{self, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Jsonl,
}

/// KST has no daylight saving: a fixed +09:00.
const KST_OFFSET_MINUTES: i64 = 9 * 60;

pub fn write_jsonl(out: &mut dyn Write, incident: &Incident, lang: Lang) -> io::Result<()> {
    // Serialise first: an error from a serialiser's writer hides the io error kind (BrokenPipe).
    // sonic-rs escapes strings with SIMD; the raw event is most of a line and full of quotes.
    let mut line = sonic_rs::to_vec(&incident.view(lang)).map_err(io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)
}

pub fn table_header(lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "{:<19}  {:<8}  {:<30}  {:<28}  {}",
            "TIME (UTC)", "SEVERITY", "RULE", "INCIDENT", "TITLE"
        ),
        Lang::Ko => format!(
            "{:<19}  {:<8}  {:<30}  {:<28}  {}",
            "시각 (KST)", "심각도", "규칙", "인시던트", "제목"
        ),
    }
}

pub fn table_row(incident: &Incident, lang: Lang, existing: bool) -> String {
    let when = match lang {
        Lang::En => time::format_local(incident.event_time_ms, 0),
        Lang::Ko => time::format_local(incident.event_time_ms, KST_OFFSET_MINUTES),
    };
    let severity = match lang {
        Lang::En => incident.severity.as_str(),
        Lang::Ko => incident.severity.label_ko(),
    };
    let marker = match (existing, lang) {
        (false, _) => "",
        (true, Lang::En) => " [already stored]",
        (true, Lang::Ko) => " [이미 저장됨]",
    };
    format!(
        "{when:<19}  {severity:<8}  {:<30}  {:<28}  {}{marker}",
        incident.rule_id,
        incident.incident_id,
        incident.title.get(lang)
    )
}

pub fn localized_time(epoch_ms: i64, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{} UTC", time::format_local(epoch_ms, 0)),
        Lang::Ko => format!("{} KST", time::format_local(epoch_ms, KST_OFFSET_MINUTES)),
    }
}
