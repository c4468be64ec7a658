//! The function: what it holds between invocations (the detector, the store's client, the
//! stateful detections' windows) and how it answers each.

use crate::broadcast::Broadcaster;
use crate::connections::Connections;
use crate::dead_letter::DeadLetters;
use crate::ingest::Summary;
use crate::invocation::Invocation;
use iamwatch_core::secret::Secret;
use iamwatch_core::{Incident, KeptCount};
use iamwatch_correlate::{CorrelateConfig, Correlator};
use iamwatch_detect::Detector;
use iamwatch_notify::{ChannelConfig, Notifier};
use iamwatch_respond::auto::AutoRules;
use iamwatch_store::{IncidentChange, IncidentStore};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};
use subtle::ConstantTimeEq;

/// What the function is configured with beyond the detector and the store.
#[derive(Debug, Default)]
pub struct Settings {
    /// The token a WebSocket client must offer on `$connect`. Without one, none may connect.
    pub token: Option<Secret>,
    /// The DynamoDB table of open WebSocket connections (`IAMWATCH_CONNECTIONS_TABLE`).
    pub connections_table: Option<String>,
    /// API Gateway's management endpoint for the WebSocket API
    /// (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`).
    pub websocket_endpoint: Option<String>,
    /// The SQS queue unreadable input is kept in (`IAMWATCH_DEAD_LETTER_QUEUE`).
    pub dead_letter_queue: Option<String>,
    /// S3 objects (log files) read whole, at most.
    pub max_object_bytes: u64,
    /// One S3 read, or one post to a connection, every retry included.
    pub aws_timeout: Duration,
    /// Notification destinations (`[[notify]]`).
    pub notify: Vec<ChannelConfig>,
    /// Playbooks run on new incidents (`[respond]`; off by default, dry runs unless told).
    pub respond: iamwatch_respond::auto::RespondConfig,
    /// The variables of `IAMWATCH_SECRETS`, read before the environment's (the notification
    /// destinations' `url_env`, `password_env`, `secret_env`).
    pub secrets: iamwatch_aws::SecretVariables,
    /// SQS batches are read message by message and answered with the messages to deliver
    /// again (`IAMWATCH_SQS_PARTIAL_BATCH`). Only with `ReportBatchItemFailures` on the event
    /// source mapping: without it, Lambda takes such an answer for a success and SQS deletes
    /// every message of the batch.
    pub partial_batches: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    #[error("the incident store failed: {0}")]
    Store(String),
    #[error("cannot read a log file an S3 notification names: {0}")]
    S3(String),
    #[error(transparent)]
    DeadLetter(#[from] crate::dead_letter::DeadLetterError),
    #[error(transparent)]
    Connections(#[from] crate::connections::ConnectionsError),
    #[error("{reason}")]
    Unreadable { reason: String },
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Respond(#[from] iamwatch_respond::auto::RespondConfigError),
}

impl From<FunctionError> for lambda_runtime::Diagnostic {
    fn from(error: FunctionError) -> Self {
        let error_type = match &error {
            FunctionError::Store(_) => "StoreUnavailable",
            FunctionError::S3(_) => "S3Unavailable",
            FunctionError::DeadLetter(_) => "DeadLetterUnavailable",
            FunctionError::Connections(_) => "ConnectionsUnavailable",
            FunctionError::Unreadable { .. } => "UnreadableInput",
            FunctionError::Config(_) | FunctionError::Respond(_) => "Misconfigured",
        };
        Self {
            error_type: error_type.to_string(),
            error_message: error.to_string(),
        }
    }
}

pub struct Function {
    pub(crate) detector: Detector,
    store: Arc<dyn IncidentStore>,
    correlator: Mutex<Correlator>,
    token: Option<Secret>,
    broadcaster: Option<Broadcaster>,
    pub(crate) dead_letters: Option<DeadLetters>,
    pub(crate) partial_batches: bool,
    pub(crate) s3: iamwatch_s3::ObjectReader,
    pub(crate) max_object_bytes: u64,
    notifier: Notifier,
    respond: Option<AutoRules>,
    /// IAM, for playbooks that are not dry runs: connected at the first.
    iam: tokio::sync::Mutex<Option<aws_sdk_iam::Client>>,
}

/// How long before the invocation's deadline the function stops waiting for notifications (they go on
/// being sent while the instance lives).
const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

/// How long a cold start may spend recalling stored incidents: Lambda gives its whole init
/// phase 10 s.
const RECALL_LIMIT: Duration = Duration::from_secs(5);

/// A correlator that remembers the stored incidents of its look-back: an instance is replaced
/// every few hours, and a pattern spanning two instances is still seen. Past the time limit, or
/// when the store fails, it goes on with what it recalled.
async fn recalled(config: CorrelateConfig, store: &dyn IncidentStore) -> Correlator {
    let mut correlator = Correlator::new(config);
    iamwatch_pipeline::recall_at_start(&mut correlator, store, Some(RECALL_LIMIT)).await;
    correlator
}

impl Function {
    /// Connects the AWS clients (with the environment's configuration) and checks the
    /// notification destinations.
    ///
    /// # Errors
    /// [`FunctionError::Config`] for a destination that cannot be used, or a connections
    /// table without the endpoint to post to (or the other way round).
    pub async fn new(
        settings: Settings,
        detector: Detector,
        store: Arc<dyn IncidentStore>,
        correlate: CorrelateConfig,
    ) -> Result<Self, FunctionError> {
        // Started once, at the cold start (a misspelt destination stops it there): the workers
        // and their clients live as long as the instance.
        let secrets = &settings.secrets;
        let variable = |name: &str| secrets.lookup(name, |name| std::env::var(name).ok());
        let notifier = Notifier::start(&settings.notify, &variable)
            .await
            .map_err(|error| FunctionError::Config(error.to_string()))?;
        let respond = AutoRules::from_config(&settings.respond)?;
        // Every `serve` sharing the table shows what the function stores, live.
        store.announce();
        let sdk = iamwatch_aws::sdk_config_from_env().await;
        let broadcaster = match (settings.connections_table, settings.websocket_endpoint) {
            (Some(table), Some(endpoint)) => {
                let connections = Connections::new(aws_sdk_dynamodb::Client::new(&sdk), table);
                let config = aws_sdk_apigatewaymanagement::config::Builder::from(&sdk)
                    .endpoint_url(endpoint)
                    .build();
                Some(Broadcaster::new(
                    aws_sdk_apigatewaymanagement::Client::from_conf(config),
                    connections,
                    settings.aws_timeout,
                ))
            }
            (None, None) => None,
            _ => {
                return Err(FunctionError::Config(
                    "IAMWATCH_CONNECTIONS_TABLE and IAMWATCH_WEBSOCKET_ENDPOINT go together: set both for live WebSocket clients, or neither".to_string(),
                ))
            }
        };
        if broadcaster.is_some() && settings.token.is_none() {
            tracing::warn!("no IAMWATCH_TOKEN: every WebSocket connection will be refused");
        }
        let dead_letters = settings
            .dead_letter_queue
            .map(|queue| DeadLetters::new(aws_sdk_sqs::Client::new(&sdk), queue));
        if dead_letters.is_none() {
            tracing::warn!("no IAMWATCH_DEAD_LETTER_QUEUE: unreadable input is kept in the log only, or left to Lambda's own retries when nothing could be read");
        }
        let correlator = recalled(correlate, store.as_ref()).await;
        Ok(Self {
            detector,
            store,
            correlator: Mutex::new(correlator),
            token: settings
                .token
                .filter(|token| token.tokens().next().is_some()),
            broadcaster,
            dead_letters,
            s3: iamwatch_s3::ObjectReader::from_env(settings.aws_timeout).await,
            max_object_bytes: settings.max_object_bytes,
            partial_batches: settings.partial_batches,
            notifier,
            respond,
            iam: tokio::sync::Mutex::new(None),
        })
    }

    /// Answers one invocation.
    ///
    /// # Errors
    /// [`FunctionError`] when asking again may succeed (the store, S3, the dead-letter queue
    /// unreachable), or when nothing could be read and there is no dead-letter queue to keep
    /// it in: Lambda delivers the invocation again, then to the function's own failure
    /// destination, so nothing is lost either way.
    pub async fn handle(
        &self,
        payload: &str,
        request_id: &str,
        deadline: SystemTime,
    ) -> Result<Value, FunctionError> {
        match Invocation::of(payload) {
            Invocation::Connect {
                connection_id,
                token,
            } => self.connect(&connection_id, token.as_deref()).await,
            Invocation::Disconnect { connection_id } => {
                if let Some(broadcaster) = &self.broadcaster {
                    broadcaster.connections().remove(&connection_id).await?;
                }
                Ok(json!({ "statusCode": 200 }))
            }
            Invocation::Message { .. } => Ok(json!({ "statusCode": 200 })),
            Invocation::Tick => {
                let summary = self
                    .commit(Vec::new(), Summary::default(), deadline)
                    .await?;
                Ok(json!(summary))
            }
            Invocation::Events => {
                let summary = self.events(payload, request_id, deadline).await?;
                Ok(json!(summary))
            }
        }
    }

    async fn connect(
        &self,
        connection_id: &str,
        offered: Option<&str>,
    ) -> Result<Value, FunctionError> {
        let Some(broadcaster) = &self.broadcaster else {
            return Ok(json!({ "statusCode": 503, "body": "live connections are not configured" }));
        };
        // The token may list several (one being rotated), as `serve`'s: each is accepted,
        // all compared whatever matched.
        let allowed = match (&self.token, offered) {
            (Some(token), Some(offered)) => token.tokens().fold(false, |allowed, token| {
                allowed | bool::from(offered.as_bytes().ct_eq(token.as_bytes()))
            }),
            _ => false,
        };
        if !allowed {
            tracing::info!(connection = %connection_id, "WebSocket connection refused: no valid token");
            return Ok(json!({ "statusCode": 401, "body": "a valid token is required" }));
        }
        broadcaster
            .connections()
            .add(connection_id, iamwatch_core::time::now_ms())
            .await?;
        Ok(json!({ "statusCode": 200 }))
    }

    async fn events(
        &self,
        payload: &str,
        request_id: &str,
        deadline: SystemTime,
    ) -> Result<Summary, FunctionError> {
        let source = format!("lambda invocation {request_id}");
        let read = self.read(payload, &source).await?;
        let mut bad = read.bad;
        for record in &bad {
            tracing::warn!(bad = %record, "unreadable input");
        }
        match (read.whole, &self.dead_letters) {
            (Some(_), None) => {
                return Err(FunctionError::Unreadable {
                    reason: format!(
                        "nothing in the invocation could be read as CloudTrail: {}",
                        read.summary.ingest.errors.join("; ")
                    ),
                })
            }
            (Some(whole), Some(dead_letters)) => {
                bad.push(whole);
                dead_letters.keep(&bad).await?;
            }
            (None, Some(dead_letters)) if !bad.is_empty() => dead_letters.keep(&bad).await?,
            (None, None) => {
                for record in &bad {
                    let kept = serde_json::to_string(record).unwrap_or_default();
                    tracing::warn!(record = %kept, "unreadable input kept in the log (no dead-letter queue)");
                }
            }
            (None, Some(_)) => {}
        }
        self.commit(read.incidents, read.summary, deadline).await
    }

    /// Correlates, stores, and sends what is new to the live connections and the
    /// notification destinations, before answering.
    async fn commit(
        &self,
        mut incidents: Vec<Incident>,
        mut summary: Summary,
        deadline: SystemTime,
    ) -> Result<Summary, FunctionError> {
        let counts: Vec<KeptCount> = incidents.iter().flat_map(Incident::kept_counts).collect();
        {
            let mut correlator = self
                .correlator
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // An event that matched only rules with a threshold is counted, not stored.
            let mut raised = Vec::new();
            incidents.retain(|incident| {
                raised.extend(correlator.observe(incident));
                !incident.is_counted_only()
            });
            incidents.extend(raised);
            incidents.extend(correlator.expire(iamwatch_core::time::now_ms()));
            // What this instance raised in an invocation the store failed.
            incidents.extend(correlator.take_unstored());
        }
        let raised = Correlator::raised_among(&incidents);
        // What rules with a threshold counted is kept first, for the instances that start after
        // this one: should the rest fail, Lambda delivers the events again and they count once.
        if let Err(error) = self
            .store
            .keep_counts(counts, iamwatch_core::time::now_ms())
            .await
        {
            self.correlator
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .keep_unstored(raised);
            return Err(FunctionError::Store(error.to_string()));
        }
        if incidents.is_empty() {
            return Ok(summary);
        }
        let wanted = self.wanted(&incidents);
        let (stored, owed_before) = match self.owe_and_insert(incidents, &wanted).await {
            Ok(stored) => stored,
            Err(error) => {
                // Lambda delivers the invocation again, but its events are counted already
                // and will not raise these again.
                self.correlator
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .keep_unstored(raised);
                return Err(FunctionError::Store(error.to_string()));
            }
        };
        let Sorted {
            created,
            unsent,
            not_owed,
        } = sort_stored(stored, &owed_before, &wanted, &mut summary);
        if let Err(error) = self.store.notified(&not_owed).await {
            tracing::warn!(%error, "cannot clear notification marks: a later delivery of these events may send them again");
        }
        if created.is_empty() && unsent.is_empty() {
            return Ok(summary);
        }
        if let (false, Some(broadcaster)) = (created.is_empty(), &self.broadcaster) {
            let messages: Vec<String> = created
                .iter()
                .map(|incident| incident.live_message("incident.created"))
                .collect();
            match broadcaster.send(&messages).await {
                Ok(broadcast) => summary.broadcast = broadcast,
                // Stored already: a failed broadcast must not make Lambda deliver it again.
                Err(error) => tracing::warn!(%error, "cannot broadcast new incidents"),
            }
        }
        self.respond(&created).await;
        let mut sending = created;
        sending.extend(unsent);
        if self.notify(&sending, deadline).await {
            if let Err(error) = self.store.notified(&self.wanted(&sending)).await {
                tracing::warn!(%error, "cannot mark notifications sent: a later delivery of these events may send them again");
            }
        }
        Ok(summary)
    }

    /// The ids of `incidents` some notification destination wants.
    fn wanted(&self, incidents: &[Incident]) -> Vec<String> {
        incidents
            .iter()
            .filter(|incident| self.notifier.wants(incident))
            .map(|incident| incident.incident_id.clone())
            .collect()
    }

    /// Stores `incidents`, owing the destinations the `wanted` ones in the table first (so that
    /// no stored incident is ever unowed: an instance that dies before sending leaves them to
    /// the invocation Lambda delivers again). Returns what was stored, and which of `wanted`
    /// were owed before this delivery marked them: stored by an earlier delivery that did not
    /// live to send them (read first, so that a delivery of events stored and sent long ago
    /// tells its own fresh marks from a debt).
    async fn owe_and_insert(
        &self,
        incidents: Vec<Incident>,
        wanted: &[String],
    ) -> Result<(Vec<iamwatch_store::Stored>, HashSet<String>), iamwatch_store::StoreError> {
        let owed_before: HashSet<String> = if wanted.is_empty() {
            HashSet::new()
        } else {
            self.store
                .owed_notifications(wanted)
                .await?
                .into_iter()
                .collect()
        };
        self.store.owe_notifications(wanted).await?;
        let stored = self.store.insert_batch(incidents).await?;
        Ok((stored, owed_before))
    }

    /// Runs the playbooks `[respond]` gives the new incidents' rules, records each run in the
    /// incident's history and pushes the change to the live connections. A failure is logged:
    /// the incidents are stored, and delivering them again would not run anything.
    async fn respond(&self, created: &[Incident]) {
        let Some(rules) = &self.respond else { return };
        let mut client = self.iam.lock().await;
        let mut updated = Vec::new();
        for incident in created {
            for playbook in rules.playbooks_for(incident) {
                let connect =
                    async { aws_sdk_iam::Client::new(&iamwatch_aws::sdk_config_from_env().await) };
                let note = iamwatch_respond::auto::respond(
                    incident,
                    playbook,
                    rules.dry_run,
                    &mut client,
                    connect,
                )
                .await;
                tracing::info!(incident = %incident.incident_id, %note, "automatic response");
                let change = IncidentChange {
                    note: Some(note),
                    actor: iamwatch_respond::auto::ACTOR.to_string(),
                    at_ms: iamwatch_core::time::now_ms(),
                    ..Default::default()
                };
                match self.store.update(&incident.incident_id, change).await {
                    Ok(incident) => updated.push(incident.live_message("incident.updated")),
                    Err(error) => {
                        tracing::error!(incident = %incident.incident_id, %error, "cannot record the automatic response");
                    }
                }
            }
        }
        if let (Some(broadcaster), false) = (&self.broadcaster, updated.is_empty()) {
            if let Err(error) = broadcaster.send(&updated).await {
                tracing::warn!(%error, "cannot broadcast the automatic responses");
            }
        }
    }

    /// Sends the notifications and waits for them, up to the invocation's deadline.
    /// Offers `incidents` to the destinations and waits for them to be sent or given up on,
    /// up to the invocation's deadline; whether they all were.
    async fn notify(&self, incidents: &[Incident], deadline: SystemTime) -> bool {
        if self.notifier.is_empty() {
            return true;
        }
        for incident in incidents {
            self.notifier.offer(incident);
        }
        let left = deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .saturating_sub(DEADLINE_MARGIN);
        let settled = self.notifier.settled(left).await;
        if !settled {
            tracing::warn!("notifications still being sent at the invocation's deadline");
        }
        settled
    }
}

/// What a delivery's stored incidents call for.
struct Sorted {
    /// New: broadcast, responded to, sent.
    created: Vec<Incident>,
    /// Stored by an earlier delivery whose instance died before sending them: sent now.
    unsent: Vec<Incident>,
    /// Stored and sent long ago: the marks this delivery made are no debt.
    not_owed: Vec<String>,
}

/// Sorts what the store answered for a delivery, counting each in `summary`; `owed_before` are
/// the marks found before this delivery made its own for `wanted`. The same event twice in one
/// delivery is new and owed once.
fn sort_stored(
    stored: Vec<iamwatch_store::Stored>,
    owed_before: &HashSet<String>,
    wanted: &[String],
    summary: &mut Summary,
) -> Sorted {
    let wanted: HashSet<&String> = wanted.iter().collect();
    let mut sorted = Sorted {
        created: Vec::new(),
        unsent: Vec::new(),
        not_owed: Vec::new(),
    };
    for entry in stored {
        let id = entry.incident.incident_id.clone();
        summary.ingest.count_stored(id.clone(), entry.created);
        if entry.created {
            sorted.created.push(entry.incident);
        } else if owed_before.contains(&id) {
            sorted.unsent.push(entry.incident);
        } else if wanted.contains(&id) {
            sorted.not_owed.push(id);
        }
    }
    let mut sending: HashSet<String> = sorted
        .created
        .iter()
        .map(|incident| incident.incident_id.clone())
        .collect();
    sorted
        .unsent
        .retain(|incident| sending.insert(incident.incident_id.clone()));
    sorted.not_owed.retain(|id| !sending.contains(id));
    sorted
}
