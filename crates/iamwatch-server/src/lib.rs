//! `iamwatch serve`: one process that takes CloudTrail events over HTTP, turns them into
//! incidents with the same pipeline as `scan`, stores them durably, and pushes them live to
//! every open dashboard.
//!
//! Data flow: `POST /v1/events` (or a message of an SQS queue read by [`queue`]) → [`ingest`] (parse + detect on the blocking pool) →
//! [`committer`] (group commit to the store) → [`iamwatch_live::Hub`] → [`stream`] (one task
//! per WebSocket client). The [`api`] reads and changes stored incidents; [`dashboard`] is the
//! page that uses both.

pub mod api;
pub mod auth;
pub mod auto_respond;
pub mod committer;
pub mod config;
pub mod dashboard;
pub mod dead_letter;
pub mod demo;
pub mod error;
pub mod firehose;
mod follow;
pub mod ingest;
mod live_rules;
pub mod metrics;
mod notifications;
pub mod posture;
pub mod queue;
mod relay;
pub mod sns;
pub mod state;
pub mod stream;

pub use config::{Config, ConfigError, LogFormat, Secret};
pub use live_rules::LiveRules;

use axum::routing::{get, post};
use axum::Router;
use iamwatch_store::IncidentStore;
use state::AppState;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot listen on {listen}: {source}")]
    Bind {
        listen: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Notify(#[from] iamwatch_notify::NotifyConfigError),
    #[error(transparent)]
    Respond(#[from] auto_respond::RespondConfigError),
    #[error(transparent)]
    Outbox(#[from] iamwatch_notify::OutboxError),
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
}

/// What `serve` runs with, beyond the config file.
pub struct Options {
    pub config: Config,
    /// The rules events are judged by; the caller keeps a clone to reload them (SIGHUP).
    pub rules: LiveRules,
    /// The tokens accepted (`Auth::new(config.token)`); the caller keeps a clone to replace
    /// them (SIGHUP).
    pub auth: auth::Auth,
    pub store: Arc<dyn IncidentStore>,
    /// Replay the bundled samples at this interval.
    pub demo: Option<Duration>,
    /// The variables of `IAMWATCH_SECRETS`, read before the environment's by the notification
    /// destinations (`url_env`, `password_env`, `secret_env`).
    pub secrets: iamwatch_aws::SecretVariables,
}

/// The routes, documented in `assets/openapi.json` (a test keeps the two in step).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("post", "/v1/events"),
    ("get", "/v1/incidents"),
    ("get", "/v1/incidents/{id}"),
    ("patch", "/v1/incidents/{id}"),
    ("get", "/v1/stream"),
    ("get", "/v1/posture"),
    ("get", "/v1/openapi.json"),
];

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(dashboard::index))
        .route("/app.js", get(dashboard::script))
        .route("/app.css", get(dashboard::style))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .route("/v1/events", post(ingest::post_events))
        .route("/v1/incidents", get(api::list_incidents))
        .route(
            "/v1/incidents/{id}",
            get(api::get_incident).patch(api::patch_incident),
        )
        .route("/v1/stream", get(stream::stream))
        .route("/v1/posture", get(posture::get_posture))
        .route("/v1/openapi.json", get(api::openapi))
        // The ingest route reads its body itself, with the configured limit.
        .layer(axum::extract::DefaultBodyLimit::max(1024 * 1024))
        .with_state(state)
}

/// Runs until `shutdown` resolves, then stops accepting, closes live streams, finishes
/// in-flight requests and commits. `ready` is told the bound address (port 0 picks one).
///
/// # Errors
/// [`ServerError`] when the config is unsafe, the address cannot be bound, or serving fails.
pub async fn serve(
    options: Options,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let Options {
        config,
        rules,
        auth,
        store,
        demo,
        secrets,
    } = options;
    config.check_exposure()?;
    if auth.is_open() {
        tracing::warn!(listen = %config.listen, "no API token set: anyone on this machine can use the API (loopback only)");
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            listen: config.listen,
            source,
        })?;
    let local = listener.local_addr().map_err(ServerError::Serve)?;
    // Live messages are small writes; Nagle's algorithm would hold them back waiting for
    // ACKs (tens of milliseconds with delayed ACKs).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    let metrics = Arc::new(metrics::Metrics::default());
    let hub = stream::LiveHub::new(config.stream.client_queue);
    let notifier = notifications::start(&config, &secrets, store.as_ref()).await?;
    let responder =
        auto_respond::Responder::start(&config.respond, Arc::clone(&store), hub.clone())?;
    let mut correlator = iamwatch_correlate::Correlator::new(config.correlate.clone());
    // What the detections counted before a restart: a pattern spanning it is still seen.
    iamwatch_pipeline::recall_at_start(&mut correlator, store.as_ref(), None).await;
    let (committer, commit_task) = committer::Committer::start(
        Arc::clone(&store),
        hub.clone(),
        notifier.clone(),
        responder,
        correlator,
        Arc::clone(&metrics),
        config.ingest.commit_queue,
    );
    // Several servers sharing one store (PostgreSQL): what the others store reaches this one's
    // live clients too.
    let relay_task = match store.changes().await {
        Ok(Some(changes)) => Some(tokio::spawn(relay::run(
            changes,
            Arc::clone(&store),
            hub.clone(),
        ))),
        Ok(None) => None,
        Err(error) => {
            tracing::warn!(%error, "cannot follow other servers' changes to the store");
            None
        }
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    // Connected (credentials and region looked up) only when some bucket is followed.
    let s3 = if config.s3.follow.is_empty() {
        None
    } else {
        tracing::info!(buckets = ?config.s3.follow, "log files named by S3 notifications from these buckets are read");
        let timeout = Duration::from_secs(config.s3.timeout_secs.max(1));
        Some(iamwatch_s3::ObjectReader::from_env(timeout).await)
    };
    let posture = config.posture.interval().map(|interval| {
        let latest = posture::Latest::default();
        let thresholds = iamwatch_posture::Thresholds {
            stale_days: config.posture.stale_days,
            key_age_days: config.posture.key_age_days,
        };
        tracing::info!(every_secs = interval.as_secs(), "IAM posture scans on");
        let task = tokio::spawn(posture::run(
            std::sync::Arc::clone(&latest),
            interval,
            thresholds,
            stopped.clone(),
        ));
        (latest, task)
    });
    let state = AppState {
        posture: posture
            .as_ref()
            .map(|(latest, _)| std::sync::Arc::clone(latest)),
        s3,
        notifier: notifier.clone(),
        dead_letter: dead_letter::DeadLetter::new(config.dead_letter.clone()),
        parsing: Arc::new(tokio::sync::Semaphore::new(
            config.ingest.max_parsing.max(1),
        )),
        config: Arc::new(config),
        store,
        rules,
        hub,
        committer,
        metrics,
        auth,
        next_request: Arc::default(),
        shutdown: stopped,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default(),
    };
    let demo_task = demo.map(|interval| tokio::spawn(demo::run(state.clone(), interval)));
    let queue_tasks = if state.config.sqs.queues.is_empty() {
        Vec::new()
    } else {
        let client = queue::client_from_env(state.config.sqs.wait()).await;
        let queues = state.config.sqs.queues.iter();
        queues
            .map(|url| tokio::spawn(queue::run(state.clone(), client.clone(), url.clone())))
            .collect()
    };
    let app = router(state.clone());
    drop(state);
    ready(local);
    tracing::info!(listen = %local, "serving");
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            // Live streams would hold the graceful shutdown open; tell them to close.
            let _ = stop.send(true);
        })
        .await;
    if let Some(task) = demo_task {
        let _ = task.await;
    }
    if let Some(task) = relay_task {
        task.abort();
    }
    // A scan under way is not waited for: it only reads.
    if let Some((_, task)) = posture {
        task.abort();
    }
    // A message being read is finished (and deleted once stored); none is received after.
    for task in queue_tasks {
        let _ = task.await;
    }
    // Every handler (and so every committer handle) is gone: the commit task drains and ends.
    if tokio::time::timeout(Duration::from_secs(30), commit_task)
        .await
        .is_err()
    {
        tracing::error!("the commit queue did not drain within 30 s");
    }
    // The last incidents' notifications are sent (or given up on) before the process ends.
    notifier.finish(Duration::from_secs(10)).await;
    result.map_err(ServerError::Serve)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_lists_exactly_the_routes() {
        let document: serde_json::Value = serde_json::from_str(super::api::OPENAPI).unwrap();
        assert_eq!(
            document["openapi"].as_str().unwrap().chars().next(),
            Some('3')
        );
        let mut documented = Vec::new();
        for (path, operations) in document["paths"].as_object().unwrap() {
            for method in operations.as_object().unwrap().keys() {
                if method != "parameters" {
                    documented.push((method.clone(), path.clone()));
                }
            }
        }
        documented.sort();
        let mut routed: Vec<_> = super::ROUTES
            .iter()
            .map(|(method, path)| (method.to_string(), path.to_string()))
            .collect();
        routed.sort();
        assert_eq!(documented, routed);
    }
}
