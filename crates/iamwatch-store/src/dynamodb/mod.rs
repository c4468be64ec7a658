//! DynamoDB: the store of the serverless deployment, where there is no server to keep a
//! database on, and a store for anyone whose team already keeps its records in AWS. It keeps the
//! same contract (`contract.rs`, run against the moto server in the tests) in one table, its
//! items laid out in `items.rs`, made on first use (on demand, no capacity to plan).
//!
//! Differences the table's nature brings: a batch of more than 50 incidents is written in
//! several transactions (`insert.rs`), listings filter as they read and may lag a fresh write by
//! a moment on AWS (`list.rs`), and no feed of changes: several `serve`s sharing a table see
//! each other's incidents when their dashboards reload, not live (DynamoDB Streams would carry
//! them).

mod counts;
mod insert;
mod items;
mod list;
mod notices;
mod stream;
mod table;
#[cfg(test)]
mod tests;

use crate::model::{applied_change, process_origin, with_creation};
use crate::{
    HistoryEntry, IncidentChange, IncidentPage, IncidentQuery, IncidentStore, StoreChange,
    StoreError, Stored,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use iamwatch_core::{Incident, KeptCount};
use items::{Item, INCIDENT_SK, PK, REVISION, SK};
use std::fmt;
use std::sync::{Arc, OnceLock};

/// A DynamoDB table, as `--db dynamodb://TABLE` names it (`?region=eu-west-1` to name its
/// region; otherwise the AWS environment's, as for every AWS client of iamwatch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamoTable {
    name: String,
    region: Option<String>,
}

impl DynamoTable {
    pub const SCHEME: &'static str = "dynamodb";

    /// Parses what follows `dynamodb://`.
    ///
    /// # Errors
    /// What is wrong with it, in a sentence.
    pub fn parse(rest: &str) -> Result<Self, String> {
        let (name, query) = rest.split_once('?').unwrap_or((rest, ""));
        let name = name.trim_end_matches('/');
        // DynamoDB's rule for table names.
        let valid = (3..=255).contains(&name.len())
            && name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.'));
        if !valid {
            return Err(format!(
                "{name:?} is not a DynamoDB table name (3 to 255 letters, digits, '_', '-' or '.')"
            ));
        }
        let mut region = None;
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            match pair.split_once('=') {
                // It becomes part of the endpoint's host name: only what a region can be.
                Some(("region", value))
                    if !value.is_empty()
                        && value.bytes().all(|byte| {
                            byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-'
                        }) =>
                {
                    region = Some(value.to_string());
                }
                Some(("region", value)) => {
                    return Err(format!("{value:?} is not a region (such as eu-west-1)"));
                }
                _ => {
                    return Err(format!(
                        "unknown parameter {pair:?} (dynamodb://TABLE takes only ?region=REGION)"
                    ))
                }
            }
        }
        Ok(Self {
            name: name.to_string(),
            region,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// A client for the table from the AWS environment's configuration (`shared`: credentials,
    /// endpoint such as `AWS_ENDPOINT_URL_DYNAMODB`), in the table's region when it names one,
    /// else the environment's, else us-east-1 (the AWS CLI's default).
    pub fn client(&self, shared: &aws_config::SdkConfig) -> Client {
        Client::new(&self.config(shared))
    }

    /// A client for the table's stream, configured as [`DynamoTable::client`].
    pub fn stream_client(&self, shared: &aws_config::SdkConfig) -> aws_sdk_dynamodbstreams::Client {
        aws_sdk_dynamodbstreams::Client::new(&self.config(shared))
    }

    fn config(&self, shared: &aws_config::SdkConfig) -> aws_config::SdkConfig {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            // A transaction's answer given up for lost is retried, and the retry is refused,
            // finding the claims the first attempt wrote (insert.rs tells them apart as the
            // batch's own). DynamoDB answers in milliseconds; an emulator on a loaded machine
            // took over 30 s for a transaction of 50 incidents.
            .read_timeout(std::time::Duration::from_secs(60))
            .build();
        let mut config = shared.to_builder().timeout_config(timeouts);
        if let Some(region) = &self.region {
            config = config.region(aws_config::Region::new(region.clone()));
        } else if shared.region().is_none() {
            config = config.region(aws_config::Region::from_static("us-east-1"));
        }
        config.build()
    }
}

impl fmt::Display for DynamoTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", Self::SCHEME, self.name)?;
        if let Some(region) = &self.region {
            write!(f, "?region={region}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: DynamoTable,
    /// The table's stream, for [`IncidentStore::changes`]; `None` for a process that does not
    /// follow it (`scan`, `incidents`).
    stream: Option<aws_sdk_dynamodbstreams::Client>,
    /// This process's name on what it writes, once it follows the stream (`stream.rs`).
    announcing: Arc<OnceLock<String>>,
}

/// Attempts at a change when other changes to the same incident keep coming in between.
const UPDATE_ATTEMPTS: usize = 8;

impl DynamoStore {
    /// The store in `table`, made (with its index) when missing.
    ///
    /// # Errors
    /// [`StoreError`] when DynamoDB is out of reach or refuses (no credentials, no permission),
    /// or the table is not iamwatch's.
    pub async fn connect(client: Client, table: DynamoTable) -> Result<Self, StoreError> {
        let store = Self::new(client, table);
        table::create_unless_there(&store).await?;
        Ok(store)
    }

    /// The store in `table`, which must be there: a mistyped name is an error rather than a new,
    /// empty table.
    ///
    /// # Errors
    /// As [`DynamoStore::connect`], and [`StoreError::NotFound`] when there is no such table.
    pub async fn connect_existing(client: Client, table: DynamoTable) -> Result<Self, StoreError> {
        let store = Self::new(client, table);
        match table::describe(&store).await? {
            Some(description) => table::check_shape(&store, &description)?,
            None => {
                return Err(StoreError::NotFound(format!(
                    "store at {}: no such table (`iamwatch scan` and `iamwatch serve` create it)",
                    store.table
                )))
            }
        }
        Ok(store)
    }

    fn new(client: Client, table: DynamoTable) -> Self {
        Self {
            client,
            table,
            stream: None,
            announcing: Arc::default(),
        }
    }

    /// The store, able to follow its table's stream with `stream` (for `serve`).
    pub fn with_stream(self, stream: aws_sdk_dynamodbstreams::Client) -> Self {
        Self {
            stream: Some(stream),
            ..self
        }
    }

    pub fn table(&self) -> &DynamoTable {
        &self.table
    }

    /// The incidents of `incident_ids` that are there, raw events included.
    async fn read_incidents(
        &self,
        incident_ids: impl IntoIterator<Item = &String>,
    ) -> Result<Vec<Incident>, StoreError> {
        let keys = incident_ids
            .into_iter()
            .map(|id| items::incident_key(id))
            .collect();
        insert::read(self, keys)
            .await?
            .iter()
            .map(items::incident_from)
            .collect()
    }

    /// The incident's item and revision.
    async fn item(&self, incident_id: &str) -> Result<Option<Item>, StoreError> {
        self.client
            .get_item()
            .table_name(self.table.name())
            .set_key(Some(items::incident_key(incident_id)))
            .consistent_read(true)
            .send()
            .await
            .map(|output| output.item)
            .map_err(|error| dynamo_error(format!("cannot read incident {incident_id}"), error))
    }

    /// One attempt at `change`: `None` when another change came in between.
    async fn try_update(
        &self,
        incident_id: &str,
        change: &IncidentChange,
    ) -> Result<Option<Incident>, StoreError> {
        let item = self
            .item(incident_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(incident_id.to_string()))?;
        let revision = items::number_of(&item, REVISION)?;
        let mut incident = items::incident_from(&item)?;
        let moved = applied_change(&mut incident, change)?;
        let entry = HistoryEntry {
            at_ms: change.at_ms,
            actor: change.actor.clone(),
            from_status: moved.map(|(from, _)| from),
            to_status: moved.map(|(_, to)| to),
            assignee: change.assignee.clone().flatten(),
            note: change.note.clone(),
        };
        let mut set = vec![
            "#status = :status",
            "updated_at = :updated_at",
            "update_order = :update_order",
            "#revision = :next",
        ];
        let mut values = vec![
            (
                ":status",
                AttributeValue::S(incident.status.as_str().to_string()),
            ),
            (
                ":updated_at",
                AttributeValue::N(incident.updated_at.to_string()),
            ),
            (
                ":update_order",
                AttributeValue::S(items::update_order(incident.updated_at, incident_id)),
            ),
            (":next", AttributeValue::N((revision + 1).to_string())),
            (":revision", AttributeValue::N(revision.to_string())),
        ];
        let mut remove = Vec::new();
        match &incident.assignee {
            Some(assignee) => {
                set.push("assignee = :assignee");
                values.push((":assignee", AttributeValue::S(assignee.clone())));
            }
            None => remove.push("assignee"),
        }
        // Who wrote last, for the processes following the stream (`stream.rs`).
        match self.announcing.get() {
            Some(origin) => {
                set.push("#writer = :writer");
                values.push((":writer", AttributeValue::S(origin.clone())));
            }
            None => remove.push("#writer"),
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let update = Update::builder()
            .table_name(self.table.name())
            .set_key(Some(items::incident_key(incident_id)))
            .update_expression(expression)
            .condition_expression("#revision = :revision")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#revision", REVISION)
            .expression_attribute_names("#writer", stream::WRITER)
            .set_expression_attribute_values(Some(
                values
                    .into_iter()
                    .map(|(name, value)| (name.to_string(), value))
                    .collect(),
            ))
            .build()
            .expect("table, key and expression are set");
        let history = Put::builder()
            .table_name(self.table.name())
            .set_item(Some(items::history_item(incident_id, revision + 1, &entry)))
            .build()
            .expect("table and item are set");
        let sent = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().put(history).build())
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Some(incident)),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_transaction_canceled_exception()) =>
            {
                Ok(None)
            }
            Err(error) => Err(dynamo_error(
                format!("cannot change incident {incident_id}"),
                error,
            )),
        }
    }
}

#[async_trait]
impl IncidentStore for DynamoStore {
    async fn insert_batch(&self, incidents: Vec<Incident>) -> Result<Vec<Stored>, StoreError> {
        if incidents.is_empty() {
            return Ok(Vec::new());
        }
        insert::insert_batch(self, incidents).await
    }

    async fn get(&self, incident_id: &str) -> Result<Option<Incident>, StoreError> {
        self.item(incident_id)
            .await?
            .as_ref()
            .map(items::incident_from)
            .transpose()
    }

    async fn get_many(&self, incident_ids: &[String]) -> Result<Vec<Incident>, StoreError> {
        self.read_incidents(incident_ids).await
    }

    async fn owe_notifications(&self, incident_ids: &[String]) -> Result<(), StoreError> {
        notices::owe(self, incident_ids).await
    }

    async fn owed_notifications(&self, incident_ids: &[String]) -> Result<Vec<String>, StoreError> {
        notices::owed(self, incident_ids).await
    }

    async fn notified(&self, incident_ids: &[String]) -> Result<(), StoreError> {
        notices::settle(self, incident_ids).await
    }

    async fn list(&self, query: &IncidentQuery) -> Result<IncidentPage, StoreError> {
        list::list(self, query).await
    }

    async fn recall(
        &self,
        since_ms: i64,
        after: Option<(i64, String)>,
        limit: usize,
    ) -> Result<Vec<Incident>, StoreError> {
        list::recall(self, crate::model::recall_start(since_ms, after), limit).await
    }

    async fn keep_counts(&self, counts: Vec<KeptCount>, now_ms: i64) -> Result<(), StoreError> {
        if counts.is_empty() {
            return Ok(());
        }
        counts::keep(self, &counts, now_ms).await
    }

    async fn recall_counts(
        &self,
        since_ms: i64,
        after: Option<KeptCount>,
        limit: usize,
    ) -> Result<Vec<KeptCount>, StoreError> {
        counts::recall(self, crate::model::count_start(since_ms, after), limit).await
    }

    async fn update(
        &self,
        incident_id: &str,
        change: IncidentChange,
    ) -> Result<Incident, StoreError> {
        for _ in 0..UPDATE_ATTEMPTS {
            if let Some(incident) = self.try_update(incident_id, &change).await? {
                return Ok(incident);
            }
        }
        Err(StoreError::Conflict(format!(
            "incident {incident_id} kept changing; try again"
        )))
    }

    async fn history(&self, incident_id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        // The incident's items, its history entries and itself, in one read: the entries'
        // keys sort before `incident`.
        let mut changes = Vec::new();
        let mut created = None;
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(self.table.name())
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":pk", AttributeValue::S(incident_id.to_string()))
                .projection_expression(
                    "#sk, #status, created_at, at_ms, actor, from_status, to_status, assignee, note",
                )
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| {
                    dynamo_error(format!("cannot read the history of {incident_id}"), error)
                })?;
            for item in output.items() {
                let sort_key = items::text_of(item, SK)?;
                if sort_key == INCIDENT_SK {
                    created = Some((
                        items::number_of(item, "created_at")?,
                        items::text_of(item, "status")?.to_string(),
                    ));
                } else if sort_key.starts_with(items::HISTORY_PREFIX) {
                    changes.push(items::history_entry(item)?);
                }
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(with_creation(changes, created))
    }

    async fn changes(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<StoreChange>>, StoreError> {
        let Some(client) = &self.stream else {
            return Ok(None);
        };
        let arn = table::describe(self).await?.and_then(|description| {
            let enabled = description
                .stream_specification()
                .is_some_and(|stream| stream.stream_enabled());
            enabled.then_some(description.latest_stream_arn).flatten()
        });
        let Some(arn) = arn else {
            tracing::warn!(table = %self.table, "the table has no stream: other servers' incidents show on this server's dashboards when they reload, not live");
            return Ok(None);
        };
        let origin = self.announcing.get_or_init(process_origin);
        stream::follow(client.clone(), arn, origin.clone())
            .await
            .map(Some)
    }

    fn announce(&self) {
        self.announcing.get_or_init(process_origin);
    }

    async fn check(&self) -> Result<(), StoreError> {
        match table::describe(self).await? {
            Some(_) => Ok(()),
            None => Err(StoreError::backend(
                format!("the table {} is gone", self.table),
                std::io::Error::from(std::io::ErrorKind::NotFound),
            )),
        }
    }
}

/// What DynamoDB (or the way to it) answered, in a line ([`iamwatch_aws::explain`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Answered(pub(crate) String);

fn dynamo_error<E, R>(context: String, error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug + 'static,
{
    StoreError::backend(context, Answered(iamwatch_aws::explain(&error)))
}
