use crate::auth::Auth;
use crate::committer::Committer;
use crate::config::Config;
use crate::dead_letter::DeadLetter;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::stream::LiveHub as Hub;
use iamwatch_store::IncidentStore;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tokio::sync::{watch, Semaphore};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn IncidentStore>,
    /// The rules in force (reloaded on SIGHUP).
    pub rules: crate::LiveRules,
    pub hub: Hub,
    pub committer: Committer,
    pub metrics: Arc<Metrics>,
    pub auth: Auth,
    pub dead_letter: DeadLetter,
    /// Bodies being read and parsed at once; beyond that requests get 429.
    pub parsing: Arc<Semaphore>,
    pub next_request: Arc<AtomicU64>,
    /// Becomes true when the server is shutting down (live streams close).
    pub shutdown: watch::Receiver<bool>,
    pub http: reqwest::Client,
    /// Reads the log files S3 notifications name, when `[s3] follow` lists buckets.
    pub s3: Option<iamwatch_s3::ObjectReader>,
    /// New incidents' notifications (`[[notify]]`); for `/metrics` here.
    pub notifier: iamwatch_notify::Notifier,
    /// The latest IAM posture scan, when `[posture] interval_hours` is set.
    pub posture: Option<crate::posture::Latest>,
}

impl AppState {
    /// Checks the request's token (and `query_token`, where a route accepts one), counting
    /// refusals.
    ///
    /// # Errors
    /// [`ApiError::Unauthorized`] without a valid token.
    pub fn authorize(
        &self,
        headers: &axum::http::HeaderMap,
        query_token: Option<&str>,
    ) -> Result<(), ApiError> {
        if self.auth.allows_with_query(headers, query_token) {
            return Ok(());
        }
        self.metrics
            .requests_unauthorized
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Err(ApiError::Unauthorized)
    }
}
