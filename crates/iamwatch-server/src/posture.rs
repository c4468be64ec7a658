//! `[posture] interval_hours`: the account's IAM posture judged when `serve` starts and every
//! interval after, the latest kept for `GET /v1/posture` and `/metrics`. Off by default: it
//! needs IAM read access (the `SecurityAudit` managed policy).

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use iamwatch_posture::{PrincipalReport, Thresholds};
use serde::Serialize;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The latest scan, or why it failed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Snapshot {
    /// When the scan finished (epoch ms).
    pub generated_at: i64,
    pub users: usize,
    pub roles: usize,
    pub principals: Vec<PrincipalReport>,
    /// Why the last attempt failed, when it did (the principals are then the last success's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Shared by the scanning task, the API and the metrics.
pub type Latest = Arc<RwLock<Option<Snapshot>>>;

/// Scans now and every `interval` until `shutdown` turns true.
pub async fn run(
    latest: Latest,
    interval: Duration,
    thresholds: Thresholds,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let client = iamwatch_posture::client_from_env().await;
    loop {
        let scanned = iamwatch_posture::collect(&client).await;
        let now = iamwatch_core::time::now_ms();
        // The lock is taken and released in this block: never held across an await.
        {
            let mut kept = latest.write().unwrap_or_else(|error| error.into_inner());
            match scanned {
                Ok(inventory) => {
                    let principals = iamwatch_posture::assess(&inventory, now, thresholds);
                    tracing::info!(
                        users = inventory.users.len(),
                        roles = inventory.roles.len(),
                        principals = principals.len(),
                        "posture scanned"
                    );
                    *kept = Some(Snapshot {
                        generated_at: now,
                        users: inventory.users.len(),
                        roles: inventory.roles.len(),
                        principals,
                        error: None,
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "posture scan failed");
                    let mut snapshot = kept.take().unwrap_or_default();
                    snapshot.error = Some(error.to_string());
                    *kept = Some(snapshot);
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

/// `GET /v1/posture`: the latest scan; 404 when posture is off, 503 before the first scan.
pub async fn get_posture(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Snapshot>, ApiError> {
    state.authorize(&headers, None)?;
    let Some(latest) = &state.posture else {
        return Err(ApiError::NotFound(
            "posture scans are off (set [posture] interval_hours)".into(),
        ));
    };
    let snapshot = latest
        .read()
        .unwrap_or_else(|error| error.into_inner())
        .clone();
    snapshot.map(Json).ok_or(ApiError::Unavailable(
        "the first posture scan has not finished yet".into(),
    ))
}
