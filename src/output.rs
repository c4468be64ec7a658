//! How incidents are shown: JSON Lines for machines, a table for people (times in UTC for
//! English readers, KST for Korean readers).

use iamwatch_core::{time, Incident, Lang};
use serde::Serialize;
use std::io::{self, Write};
use unicode_width::UnicodeWidthStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Jsonl,
}

/// KST has no daylight saving: a fixed +09:00.
const KST_OFFSET_MINUTES: i64 = 9 * 60;

/// Most incident lines are 1 to 2 KB.
const LINE_CAPACITY: usize = 4096;

pub fn write_jsonl(out: &mut dyn Write, incident: &Incident, lang: Lang) -> io::Result<()> {
    // Serialise first: an error from a serialiser's writer hides the io error kind (BrokenPipe).
    // Into a buffer the size of a typical line: sonic-rs's own starts at 128 bytes.
    let mut line = Vec::with_capacity(LINE_CAPACITY);
    view_json(&mut line, incident, lang).map_err(io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)
}

/// [`Incident::view`] as JSON, written field by field so that the meta is copied in as the
/// text the pipeline wrote once for the store ([`iamwatch_core::MetaJson`]) instead of being
/// serialised again. The view's fields in the view's order; a test holds this to the view's
/// own serialisation. sonic-rs writes the values: the JSON serde_json writes, escaped by SIMD.
fn view_json(line: &mut Vec<u8>, incident: &Incident, lang: Lang) -> sonic_rs::Result<()> {
    fn field<T: Serialize + ?Sized>(
        line: &mut Vec<u8>,
        key: &str,
        value: &T,
    ) -> sonic_rs::Result<()> {
        line.extend_from_slice(if line.ends_with(b"{") { b"\"" } else { b",\"" });
        line.extend_from_slice(key.as_bytes());
        line.extend_from_slice(b"\":");
        sonic_rs::to_writer(&mut *line, value)
    }
    let view = incident.view(lang);
    line.push(b'{');
    field(line, "incident_id", view.incident_id)?;
    field(line, "event_id", view.event_id)?;
    field(line, "event_name", view.event_name)?;
    field(line, "event_type", view.event_type)?;
    field(line, "rule_id", view.rule_id)?;
    field(line, "title", view.title)?;
    field(line, "resource", view.resource)?;
    field(line, "severity", &view.severity)?;
    field(line, "status", &view.status)?;
    line.extend_from_slice(b",\"meta\":");
    incident.meta_json.write_full(view.meta, line);
    field(line, "source", view.source)?;
    field(line, "account", view.account)?;
    field(line, "region", view.region)?;
    field(line, "event_time_ms", &view.event_time_ms)?;
    field(line, "created_at", &view.created_at)?;
    field(line, "updated_at", &view.updated_at)?;
    if let Some(assignee) = view.assignee {
        field(line, "assignee", assignee)?;
    }
    line.push(b'}');
    Ok(())
}

/// The incident table for people. Columns are padded by display width, not by characters: a
/// Korean character takes two terminal columns, so padding by characters left Korean rows out
/// of line. The rule column is as wide as the longest rule id that can appear in it, known
/// before the first row (the rules in force for a scan, the page for a listing).
pub struct Table {
    lang: Lang,
    rule_width: usize,
}

const TIME_WIDTH: usize = 19;
const SEVERITY_WIDTH: usize = 8;
/// `inc-YYYYMMDD-HHMMSS-XXXXXX`.
const INCIDENT_WIDTH: usize = 26;
/// The code rules' ids (`iam.signing_certificate_change`, …) are at most this wide; rule files
/// can make the column wider.
const CODE_RULE_ID_WIDTH: usize = 30;

impl Table {
    pub fn new<'r>(lang: Lang, rule_ids: impl IntoIterator<Item = &'r str>) -> Self {
        let rule_width = rule_ids
            .into_iter()
            .map(UnicodeWidthStr::width)
            .fold(CODE_RULE_ID_WIDTH, usize::max);
        Self { lang, rule_width }
    }

    fn headings(lang: Lang) -> [&'static str; 5] {
        match lang {
            Lang::En => ["TIME (UTC)", "SEVERITY", "RULE", "INCIDENT", "TITLE"],
            Lang::Ko => ["시각 (KST)", "심각도", "규칙", "인시던트", "제목"],
        }
    }

    pub fn header(&self) -> String {
        self.line(Self::headings(self.lang))
    }

    pub fn row(&self, incident: &Incident, existing: bool) -> String {
        let when = time::format_local(incident.event_time_ms, offset_minutes(self.lang));
        let severity = match self.lang {
            Lang::En => incident.severity.as_str(),
            Lang::Ko => incident.severity.label_ko(),
        };
        let marker = match (existing, self.lang) {
            (false, _) => "",
            (true, Lang::En) => " [already stored]",
            (true, Lang::Ko) => " [이미 저장됨]",
        };
        let title = format!("{}{marker}", incident.title.get(self.lang));
        self.line([
            &when,
            severity,
            &incident.rule_id,
            &incident.incident_id,
            &title,
        ])
    }

    /// Every cell but the title padded to its column's width, two spaces between columns.
    fn line(&self, [time, severity, rule, incident, title]: [&str; 5]) -> String {
        let widths = [TIME_WIDTH, SEVERITY_WIDTH, self.rule_width, INCIDENT_WIDTH];
        let mut line = String::new();
        for (cell, width) in [time, severity, rule, incident].into_iter().zip(widths) {
            line.push_str(cell);
            line.extend(std::iter::repeat_n(
                ' ',
                width.saturating_sub(cell.width()) + 2,
            ));
        }
        line.push_str(title);
        line
    }
}

/// Readers of English see UTC, readers of Korean KST.
fn offset_minutes(lang: Lang) -> i64 {
    match lang {
        Lang::En => 0,
        Lang::Ko => KST_OFFSET_MINUTES,
    }
}

pub fn localized_time(epoch_ms: i64, lang: Lang) -> String {
    let zone = match lang {
        Lang::En => "UTC",
        Lang::Ko => "KST",
    };
    format!(
        "{} {zone}",
        time::format_local(epoch_ms, offset_minutes(lang))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use iamwatch_core::Severity;
    use iamwatch_store::contract::sample_incident_for;

    /// Where each column starts, in terminal columns (a Korean character takes two).
    fn column_starts(line: &str) -> Vec<usize> {
        let mut starts = vec![0];
        let mut column = 0;
        let mut previous = ' ';
        let mut spaces = 0;
        for character in line.chars() {
            if character == ' ' {
                spaces += 1;
            } else {
                if spaces >= 2 && previous == ' ' {
                    starts.push(column);
                }
                spaces = 0;
            }
            column += character.to_string().width();
            previous = character;
        }
        starts
    }

    #[test]
    fn json_lines_are_the_view_serialised_with_the_meta_copied_in() {
        let mut incidents = Vec::new();
        for (n, severity) in [Severity::Critical, Severity::Low].into_iter().enumerate() {
            let mut incident =
                sample_incident_for(&format!("e-{n}"), 1_717_200_000_000, severity, "1");
            incident.title.en = "quote \" backslash \\ tab \t".into();
            incident.meta.notes = vec!["읽을 수 없음 \u{1}".into()];
            incident.meta.actor.name = "alice".into();
            incidents.push(incident.clone());
            // The meta written once by the pipeline, and an assignee.
            incident.meta_json = iamwatch_core::MetaJson::of(&mut incident.meta);
            incident.assignee = Some("밥 <bob@example.com>".into());
            incidents.push(incident);
        }
        for incident in &incidents {
            for lang in [Lang::En, Lang::Ko] {
                let mut line = Vec::new();
                view_json(&mut line, incident, lang).unwrap();
                let expected = serde_json::to_vec(&incident.view(lang)).unwrap();
                assert_eq!(
                    String::from_utf8(line).unwrap(),
                    String::from_utf8(expected).unwrap()
                );
            }
        }
    }

    #[test]
    fn korean_rows_line_up_with_their_header_in_terminal_columns() {
        let table = Table::new(Lang::Ko, ["iam.access_key_change"]);
        let incident = sample_incident_for("e-1", 1_717_200_000_000, Severity::Critical, "1");
        let header = table.header();
        let row = table.row(&incident, true);
        // "시각 (KST)" is ten columns wide: nine spaces fill it to nineteen, two separate.
        let expected = format!("시각 (KST){}심각도{}규칙", " ".repeat(11), " ".repeat(4));
        assert!(header.starts_with(&expected), "{header}");
        assert!(row.contains(" [이미 저장됨]"), "{row}");
        let header_starts = column_starts(&header);
        assert_eq!(header_starts.len(), 5, "{header}");
        assert_eq!(header_starts, column_starts(&row)[..5], "{header}\n{row}");
        // Severity is two Korean characters, four columns wide, padded to eight.
        assert_eq!(header_starts[2] - header_starts[1], SEVERITY_WIDTH + 2);
    }

    #[test]
    fn the_rule_column_is_as_wide_as_the_longest_rule_id_it_can_hold() {
        let long = "secretsmanager.secrets_read_in_bulk_or_by_a_person";
        let table = Table::new(Lang::En, ["short", long]);
        let mut incident = sample_incident_for("e-2", 1_717_200_000_000, Severity::Low, "1");
        let header = table.header();
        let short_row = table.row(&incident, false);
        incident.rule_id = long.to_string();
        let long_row = table.row(&incident, false);
        assert_eq!(column_starts(&header), column_starts(&short_row));
        assert_eq!(column_starts(&header), column_starts(&long_row));
        assert_eq!(
            column_starts(&header)[3] - column_starts(&header)[2],
            long.len() + 2
        );
    }

    #[test]
    fn without_longer_rule_files_the_code_rules_still_fit() {
        let table = Table::new(Lang::En, []);
        let mut incident = sample_incident_for("e-3", 1_717_200_000_000, Severity::High, "1");
        incident.rule_id = "iam.signing_certificate_change".to_string();
        assert_eq!(
            column_starts(&table.header()),
            column_starts(&table.row(&incident, false))
        );
    }
}
