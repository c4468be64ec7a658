//! Discord and Slack incoming webhooks: a card per incident, several incidents of a burst in
//! one message (chat services rate-limit each webhook: Discord about five messages in two
//! seconds), escaped so that a value an attacker chose in the CloudTrail record (a user name,
//! a user agent) cannot ping a channel or hide a link.

use super::{http_outcome, Outgoing, Payload, SendError};
use crate::config::Route;
use crate::message::{digest_title, render, steps_label, Rendered};
use iamwatch_core::{time, Incident, Lang, Secret, Severity};
use serde_json::{json, Value};
use std::sync::Arc;

/// Embeds in one Discord message (Discord allows 10, and 6,000 characters across them).
pub const DISCORD_EMBEDS: usize = 10;
const DISCORD_MESSAGE_CHARS: usize = 5_500;
/// Incidents in one Slack message (four blocks each; Slack allows 50 blocks).
pub const SLACK_INCIDENTS: usize = 10;

pub struct Chat {
    http: reqwest::Client,
    url: Secret,
}

impl Chat {
    pub fn new(http: reqwest::Client, url: Secret) -> Self {
        Self { http, url }
    }

    pub async fn post(&self, body: &[u8]) -> Result<(), SendError> {
        let sent = self
            .http
            .post(self.url.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await;
        http_outcome(sent).await
    }
}

/// Discord's colour for a severity (the dashboard's palette).
fn discord_colour(severity: Severity) -> u32 {
    match severity {
        Severity::Critical => 0x00B9_1C1C,
        Severity::High => 0x00EA_580C,
        Severity::Medium => 0x00CA_8A04,
        Severity::Low => 0x0025_63EB,
    }
}

pub fn discord_messages(batch: &[Arc<Incident>], route: &Route) -> Vec<Outgoing> {
    let mut messages = Vec::new();
    let mut embeds: Vec<Value> = Vec::new();
    let mut chars = 0;
    for incident in batch {
        let rendered = render(incident, route);
        let embed = discord_embed(incident, &rendered, route.lang);
        let size = embed_chars(&embed);
        if !embeds.is_empty()
            && (embeds.len() == DISCORD_EMBEDS || chars + size > DISCORD_MESSAGE_CHARS)
        {
            messages.push(discord_message(std::mem::take(&mut embeds)));
            chars = 0;
        }
        chars += size;
        embeds.push(embed);
    }
    if !embeds.is_empty() {
        messages.push(discord_message(embeds));
    }
    messages
}

fn discord_message(embeds: Vec<Value>) -> Outgoing {
    let incidents = embeds.len();
    let body = json!({
        "username": "iamwatch",
        // Nobody is pinged, whatever a value says (`@everyone` in a user name).
        "allowed_mentions": {"parse": []},
        "embeds": embeds,
    });
    Outgoing {
        incidents,
        payload: Payload::Json {
            body: body.to_string().into_bytes(),
            delivery: String::new(),
        },
    }
}

fn discord_embed(incident: &Incident, rendered: &Rendered, lang: Lang) -> Value {
    let mut fields: Vec<Value> = rendered
        .lines
        .iter()
        .map(|line| {
            json!({"name": line.label, "value": discord_escape(&line.value), "inline": line.short})
        })
        .collect();
    if !rendered.steps.is_empty() {
        let steps: Vec<String> = rendered
            .steps
            .iter()
            .enumerate()
            .map(|(number, step)| format!("{}. {}", number + 1, discord_escape(step)))
            .collect();
        fields.push(json!({
            "name": steps_label(lang),
            "value": steps.join("\n"),
            "inline": false,
        }));
    }
    let mut embed = json!({
        "title": rendered.headline,
        "color": discord_colour(rendered.severity),
        "fields": fields,
        "footer": {"text": "iamwatch"},
        "timestamp": time::format_rfc3339_ms(incident.event_time_ms),
    });
    if let Some(link) = &rendered.link {
        embed["url"] = json!(link);
    }
    embed
}

/// What Discord counts against its 6,000 characters.
fn embed_chars(embed: &Value) -> usize {
    let text = |value: &Value| value.as_str().map_or(0, |text| text.chars().count());
    let fields = embed["fields"].as_array().map_or(0, |fields| {
        fields
            .iter()
            .map(|field| text(&field["name"]) + text(&field["value"]))
            .sum()
    });
    text(&embed["title"]) + text(&embed["footer"]["text"]) + fields
}

/// Markdown and mentions shown as the characters they are.
fn discord_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '[' | ']' | '(' | ')' | '#' | '@'
        ) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

pub fn slack_messages(batch: &[Arc<Incident>], route: &Route) -> Vec<Outgoing> {
    batch
        .chunks(SLACK_INCIDENTS)
        .map(|part| {
            let rendered: Vec<Rendered> = part
                .iter()
                .map(|incident| render(incident, route))
                .collect();
            let fallback = match rendered.as_slice() {
                [one] => one.headline.clone(),
                many => digest_title(many, route.lang),
            };
            let blocks: Vec<Value> = rendered
                .iter()
                .flat_map(|one| slack_blocks(one, route.lang))
                .collect();
            let body = json!({"text": slack_escape(&fallback), "blocks": blocks});
            Outgoing {
                incidents: part.len(),
                payload: Payload::Json {
                    body: body.to_string().into_bytes(),
                    delivery: String::new(),
                },
            }
        })
        .collect()
}

fn slack_blocks(rendered: &Rendered, lang: Lang) -> Vec<Value> {
    let headline = slack_escape(&rendered.headline);
    let title = match &rendered.link {
        Some(link) => format!("*<{}|{headline}>*", slack_escape(link)),
        None => format!("*{headline}*"),
    };
    // A section holds ten fields at most.
    let fields: Vec<Value> = rendered
        .lines
        .iter()
        .take(10)
        .map(|line| {
            json!({"type": "mrkdwn", "text": format!("*{}*\n{}", line.label, slack_escape(&line.value))})
        })
        .collect();
    let mut blocks = vec![
        json!({"type": "section", "text": {"type": "mrkdwn", "text": title}}),
        json!({"type": "section", "fields": fields}),
    ];
    let mut rest: Vec<String> = rendered
        .lines
        .iter()
        .skip(10)
        .map(|line| format!("{}: {}", line.label, slack_escape(&line.value)))
        .collect();
    if !rendered.steps.is_empty() {
        rest.push(format!(
            "{}: {}",
            steps_label(lang),
            rendered
                .steps
                .iter()
                .enumerate()
                .map(|(number, step)| format!("{}. {}", number + 1, slack_escape(step)))
                .collect::<Vec<_>>()
                .join("  ")
        ));
    }
    if !rest.is_empty() {
        blocks.push(
            json!({"type": "context", "elements": [{"type": "mrkdwn", "text": rest.join("\n")}]}),
        );
    }
    blocks.push(json!({"type": "divider"}));
    blocks
}

/// Slack's three control characters: `<!channel>` or `<https://…|text>` in a value stays text.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attacker_chosen_text_cannot_ping_or_link() {
        assert_eq!(
            discord_escape("@everyone [x](http://e)"),
            "\\@everyone \\[x\\]\\(http://e\\)"
        );
        assert_eq!(
            slack_escape("<!channel> & <http://e|x>"),
            "&lt;!channel&gt; &amp; &lt;http://e|x&gt;"
        );
    }
}
