//! The incident API: list with filters and cursor pagination, one incident with its history,
//! lifecycle changes. Every route needs the token.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use iamwatch_core::{Incident, IncidentStatus, Severity};
use iamwatch_store::{IncidentChange, IncidentQuery};
use serde::Deserialize;
use serde_json::{json, Value};

/// Query string of `GET /v1/incidents`. Lists are comma-separated.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub severity: Option<String>,
    pub status: Option<String>,
    pub account: Option<String>,
    pub rule: Option<String>,
    pub text: Option<String>,
    /// Epoch milliseconds or an RFC 3339 time.
    pub since: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

impl ListParams {
    /// # Errors
    /// [`ApiError::BadRequest`] naming the parameter that does not parse.
    pub fn to_query(&self) -> Result<IncidentQuery, ApiError> {
        fn list<T: std::str::FromStr>(text: &Option<String>, name: &str) -> Result<Vec<T>, ApiError>
        where
            T::Err: std::fmt::Display,
        {
            text.iter()
                .flat_map(|text| text.split(','))
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| {
                    item.parse()
                        .map_err(|error| ApiError::bad_request(format!("{name}: {error}")))
                })
                .collect()
        }
        let since_ms = match &self.since {
            None => None,
            Some(text) => Some(parse_since(text).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "since: {text:?} is neither a span back from now (24h, 7d), a day, an RFC 3339 time nor epoch milliseconds"
                ))
            })?),
        };
        let non_empty = |text: &Option<String>| text.clone().filter(|text| !text.is_empty());
        Ok(IncidentQuery {
            severities: list::<Severity>(&self.severity, "severity")?,
            statuses: list::<IncidentStatus>(&self.status, "status")?,
            account: non_empty(&self.account),
            rule_id: non_empty(&self.rule),
            text: non_empty(&self.text),
            since_ms,
            cursor: non_empty(&self.cursor),
            limit: self.limit.unwrap_or(0),
        })
    }
}

pub fn parse_since(text: &str) -> Option<i64> {
    iamwatch_core::time::parse_since(text, iamwatch_core::time::now_ms())
}

/// An incident's own page: everything stored, raw event included, with its history.
async fn incident_detail(state: &AppState, incident: &Incident) -> Result<Json<Value>, ApiError> {
    let history = state.store.history(&incident.incident_id).await?;
    let mut value = serde_json::to_value(incident).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.insert("history".to_string(), json!(history));
    }
    Ok(Json(value))
}

pub async fn list_incidents(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    state.authorize(&headers, None)?;
    let Query(params) = query.map_err(|error| ApiError::bad_request(error.body_text()))?;
    let page = state.store.list(&params.to_query()?).await?;
    Ok(Json(json!({
        "incidents": page.incidents.iter().map(Incident::summary_json).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
    })))
}

pub async fn get_incident(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.authorize(&headers, None)?;
    let incident = state
        .store
        .get(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("incident {id}")))?;
    incident_detail(&state, &incident).await
}

/// Body of `PATCH /v1/incidents/{id}`: a JSON object. (serde's derive also takes a struct
/// as an array of its fields in order, `["ACKNOWLEDGED", "alice", null, null]`, which the API does not
/// document and a client should not come to rely on.)
#[derive(Debug, Deserialize)]
#[serde(try_from = "serde_json::Map<String, Value>")]
pub struct PatchBody {
    pub status: Option<IncidentStatus>,
    /// A name, or null to clear.
    #[serde(default, with = "double_option")]
    pub assignee: Option<Option<String>>,
    pub note: Option<String>,
    /// Who is making the change; defaults to `api`.
    pub actor: Option<String>,
}

/// The longest assignee or actor name, in characters: names are shown in every listing, on
/// the dashboard and in every live message of the incident.
const MAX_NAME_CHARS: usize = 200;
/// The longest note, in characters: notes are kept in the history for good.
const MAX_NOTE_CHARS: usize = 10_000;

/// [`PatchBody`]'s fields, read from the object.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchFields {
    status: Option<IncidentStatus>,
    #[serde(default, with = "double_option")]
    assignee: Option<Option<String>>,
    note: Option<String>,
    actor: Option<String>,
}

impl TryFrom<serde_json::Map<String, Value>> for PatchBody {
    type Error = serde_json::Error;

    fn try_from(object: serde_json::Map<String, Value>) -> Result<Self, Self::Error> {
        let fields: PatchFields = serde_json::from_value(Value::Object(object))?;
        Ok(Self {
            status: fields.status,
            assignee: fields.assignee,
            note: fields.note,
            actor: fields.actor,
        })
    }
}

impl PatchBody {
    /// What is too long to keep, named, or `None`.
    fn too_long(&self) -> Option<String> {
        let fields = [
            (
                "assignee",
                self.assignee.as_ref().and_then(Option::as_deref),
                MAX_NAME_CHARS,
            ),
            ("actor", self.actor.as_deref(), MAX_NAME_CHARS),
            ("note", self.note.as_deref(), MAX_NOTE_CHARS),
        ];
        fields.into_iter().find_map(|(field, text, most)| {
            let chars = text?.chars().count();
            (chars > most).then(|| format!("{field} is {chars} characters long; at most {most}"))
        })
    }
}

mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(deserializer).map(Some)
    }
}

pub async fn patch_incident(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<PatchBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    state.authorize(&headers, None)?;
    let Json(body) = body.map_err(|error| ApiError::bad_request(error.body_text()))?;
    if let Some(problem) = body.too_long() {
        return Err(ApiError::bad_request(problem));
    }
    if body.status.is_none() && body.assignee.is_none() && body.note.is_none() {
        return Err(ApiError::bad_request(
            "nothing to change: send status, assignee or note",
        ));
    }
    let change = IncidentChange {
        status: body.status,
        assignee: body.assignee,
        note: body.note,
        actor: body
            .actor
            .filter(|actor| !actor.trim().is_empty())
            .unwrap_or_else(|| "api".to_string()),
        at_ms: iamwatch_core::time::now_ms(),
    };
    let incident = state.store.update(&id, change).await?;
    state
        .hub
        .publish(crate::stream::message("incident.updated", &incident));
    incident_detail(&state, &incident).await
}

pub const OPENAPI: &str = include_str!("../assets/openapi.json");

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.check().await {
        Ok(()) => Json(json!({"status": "ok"})).into_response(),
        Err(error) => ApiError::Unavailable(format!("store: {error}")).into_response(),
    }
}

pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    state.authorize(&headers, None)?;
    let mut text = state
        .metrics
        .render(&state.hub, &state.notifier, state.posture.as_ref());
    crate::metrics::write_rules(&mut text, &state.rules);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_parameters_parse_and_name_what_is_wrong() {
        let params = ListParams {
            severity: Some("HIGH,critical".to_string()),
            status: Some("NEW".to_string()),
            since: Some("2024-05-01T00:00:00Z".to_string()),
            ..ListParams::default()
        };
        let query = params.to_query().unwrap();
        assert_eq!(query.severities, vec![Severity::High, Severity::Critical]);
        assert_eq!(query.since_ms, Some(1_714_521_600_000));
        let day = ListParams {
            since: Some("24h".to_string()),
            ..ListParams::default()
        };
        let before = iamwatch_core::time::now_ms() - 86_400_000;
        let since_ms = day.to_query().unwrap().since_ms.unwrap();
        let after = iamwatch_core::time::now_ms() - 86_400_000;
        assert!((before..=after).contains(&since_ms), "{since_ms}");
        let bad = ListParams {
            severity: Some("HUGE".to_string()),
            ..ListParams::default()
        };
        assert!(bad
            .to_query()
            .unwrap_err()
            .to_string()
            .starts_with("severity:"));
        let bad = ListParams {
            since: Some("yesterday".to_string()),
            ..ListParams::default()
        };
        assert!(bad
            .to_query()
            .unwrap_err()
            .to_string()
            .starts_with("since:"));
    }

    #[test]
    fn patch_distinguishes_a_cleared_assignee_from_none() {
        let cleared: PatchBody = serde_json::from_str(r#"{"assignee":null}"#).unwrap();
        assert_eq!(cleared.assignee, Some(None));
        let untouched: PatchBody = serde_json::from_str(r#"{"note":"x"}"#).unwrap();
        assert_eq!(untouched.assignee, None);
        assert!(serde_json::from_str::<PatchBody>(r#"{"stauts":"NEW"}"#).is_err());
    }

    #[test]
    fn a_patch_body_is_an_object_only() {
        let error = serde_json::from_str::<PatchBody>(r#"["ACKNOWLEDGED", "alice", null, null]"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("expected a map"), "{error}");
        let body: PatchBody =
            serde_json::from_str(r#"{"status":"ACKNOWLEDGED","assignee":"alice"}"#).unwrap();
        assert_eq!(body.status, Some(IncidentStatus::Acknowledged));
        assert_eq!(body.assignee, Some(Some("alice".to_string())));
    }

    #[test]
    fn overlong_names_and_notes_are_named() {
        let body = |json: serde_json::Value| serde_json::from_value::<PatchBody>(json).unwrap();
        // Characters, not bytes: a Korean name of 200 characters is 600 bytes, and fits.
        let fits = body(json!({"assignee": "김".repeat(200), "note": "x".repeat(10_000)}));
        assert_eq!(fits.too_long(), None);
        assert_eq!(
            body(json!({"assignee": "a".repeat(201)})).too_long(),
            Some("assignee is 201 characters long; at most 200".to_string())
        );
        assert_eq!(
            body(json!({"note": "n", "actor": "b".repeat(300)})).too_long(),
            Some("actor is 300 characters long; at most 200".to_string())
        );
        assert_eq!(
            body(json!({"note": "x".repeat(10_001)})).too_long(),
            Some("note is 10001 characters long; at most 10000".to_string())
        );
        assert_eq!(body(json!({"assignee": null})).too_long(), None);
    }
}
