//! What other processes store in a table, from its stream (DynamoDB Streams, new images): the
//! feed [`IncidentStore::changes`](crate::IncidentStore::changes) returns, so several `serve`s
//! sharing a table show each other's incidents live, as PostgreSQL's do.
//!
//! A process that follows the stream (a `serve`) marks what it writes with its name (`writer`);
//! a follower relays what other followers wrote, not its own (its dashboards had them already),
//! and not what processes that do not follow wrote (a `scan` of last month's trail is not pushed
//! to every open dashboard), as with PostgreSQL. Each open shard is read from where it
//! stood when following started; shards that open later (DynamoDB splits them as it goes) from
//! their start. When the stream cannot be read (an expired iterator, DynamoDB out of reach), the
//! feed says changes may have been missed and follows again from then on.

use super::items::{INCIDENT_SK, PK, SK};
use crate::{StoreChange, StoreError};
use aws_sdk_dynamodbstreams::types::{AttributeValue, OperationType, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::sync::mpsc;

/// The attribute naming the process that last wrote an incident, when it follows the stream.
pub const WRITER: &str = "writer";
/// How often each shard is asked for records (DynamoDB allows five reads a second a shard).
const POLL: Duration = Duration::from_millis(500);
/// How often the stream's shards are looked at again, for new ones.
const DESCRIBE_EVERY: Duration = Duration::from_secs(60);

pub(super) struct Follower {
    client: Client,
    arn: String,
    origin: String,
    /// The open shards' next iterators, by shard id.
    pub(super) iterators: HashMap<String, String>,
    /// Every shard seen, open or closed.
    seen: HashSet<String>,
}

/// Follows the stream at `arn` from now on; returns once following, so that what is written
/// after it returns is heard.
pub async fn follow(
    client: Client,
    arn: String,
    origin: String,
) -> Result<mpsc::Receiver<StoreChange>, StoreError> {
    let follower = Follower::following(client, arn, origin).await?;
    let (sender, receiver) = mpsc::channel(256);
    tokio::spawn(async move { follower.run(sender).await });
    Ok(receiver)
}

impl Follower {
    pub(super) async fn following(
        client: Client,
        arn: String,
        origin: String,
    ) -> Result<Self, StoreError> {
        let mut follower = Follower {
            client,
            arn,
            origin,
            iterators: HashMap::new(),
            seen: HashSet::new(),
        };
        follower.start().await?;
        Ok(follower)
    }

    /// Every shard open now, read from now on.
    async fn start(&mut self) -> Result<(), StoreError> {
        self.iterators.clear();
        self.seen.clear();
        self.look_for_shards(ShardIteratorType::Latest).await
    }

    /// Takes up shards not seen yet: open ones from `position`; and with `TrimHorizon` (shards
    /// that appeared while following) closed ones too, read to their end.
    async fn look_for_shards(&mut self, position: ShardIteratorType) -> Result<(), StoreError> {
        let mut start_after: Option<String> = None;
        loop {
            let output = self
                .client
                .describe_stream()
                .stream_arn(&self.arn)
                .set_exclusive_start_shard_id(start_after.take())
                .send()
                .await
                .map_err(|error| stream_error("cannot read the table's stream", &error))?;
            let Some(description) = output.stream_description else {
                return Ok(());
            };
            for shard in description.shards() {
                let Some(id) = shard.shard_id() else {
                    continue;
                };
                if !self.seen.insert(id.to_string()) {
                    continue;
                }
                let open = shard
                    .sequence_number_range()
                    .is_none_or(|range| range.ending_sequence_number().is_none());
                if !open && position == ShardIteratorType::Latest {
                    continue;
                }
                let iterator = self
                    .client
                    .get_shard_iterator()
                    .stream_arn(&self.arn)
                    .shard_id(id)
                    .shard_iterator_type(position.clone())
                    .send()
                    .await
                    .map_err(|error| stream_error("cannot read the table's stream", &error))?;
                if let Some(iterator) = iterator.shard_iterator {
                    self.iterators.insert(id.to_string(), iterator);
                }
            }
            match description.last_evaluated_shard_id {
                Some(last) => start_after = Some(last),
                None => return Ok(()),
            }
        }
    }

    pub(super) async fn run(mut self, sender: mpsc::Sender<StoreChange>) {
        let mut described = tokio::time::Instant::now();
        while !sender.is_closed() {
            let mut changes = Vec::new();
            let mut closed = false;
            let read = self.read_once(&mut changes, &mut closed).await;
            for change in changes {
                if sender.send(change).await.is_err() {
                    return;
                }
            }
            let looked = if read.is_err() {
                Err(())
            } else if closed || described.elapsed() > DESCRIBE_EVERY {
                described = tokio::time::Instant::now();
                self.look_for_shards(ShardIteratorType::TrimHorizon)
                    .await
                    .map_err(|error| tracing::warn!(error = %error, "cannot look at the stream's shards"))
            } else {
                Ok(())
            };
            if looked.is_err() {
                self.follow_again(&sender).await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Reads each shard once: the incidents others created or changed, into `changes`.
    async fn read_once(
        &mut self,
        changes: &mut Vec<StoreChange>,
        closed: &mut bool,
    ) -> Result<(), ()> {
        let mut created = Vec::new();
        let shards: Vec<(String, String)> = self.iterators.drain().collect();
        let mut failed = false;
        for (shard, iterator) in shards {
            if failed {
                continue;
            }
            let output = match self
                .client
                .get_records()
                .shard_iterator(&iterator)
                .send()
                .await
            {
                Ok(output) => output,
                Err(error) => {
                    tracing::warn!(error = %iamwatch_aws::explain(&error), "cannot read the table's stream");
                    failed = true;
                    continue;
                }
            };
            for record in output.records() {
                let Some(image) = record.dynamodb().and_then(|change| change.new_image()) else {
                    continue;
                };
                let text = |name: &str| match image.get(name) {
                    Some(AttributeValue::S(text)) => Some(text.as_str()),
                    _ => None,
                };
                let by_another_follower = text(WRITER).is_some_and(|writer| writer != self.origin);
                if text(SK) != Some(INCIDENT_SK) || !by_another_follower {
                    continue;
                }
                let Some(id) = text(PK) else {
                    continue;
                };
                match record.event_name() {
                    Some(OperationType::Insert) => created.push(id.to_string()),
                    Some(OperationType::Modify) => {
                        changes.push(StoreChange::Updated(id.to_string()))
                    }
                    _ => {}
                }
            }
            match output.next_shard_iterator {
                Some(next) => {
                    self.iterators.insert(shard, next);
                }
                // The shard is closed and read to its end: its children carry on.
                None => *closed = true,
            }
        }
        if !created.is_empty() {
            changes.insert(0, StoreChange::Created(created));
        }
        if failed {
            Err(())
        } else {
            Ok(())
        }
    }

    /// After the stream could not be read: follows it again from now on (trying until it can),
    /// and says changes may have been missed meanwhile.
    async fn follow_again(&mut self, sender: &mpsc::Sender<StoreChange>) {
        let mut pause = Duration::from_secs(1);
        loop {
            if sender.is_closed() {
                return;
            }
            match self.start().await {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(error = %error, retry_in_secs = pause.as_secs(), "cannot follow the table's stream");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(30));
                }
            }
        }
        tracing::warn!("the table's stream was cut; changes in between were not relayed (dashboards catch up when they reconnect)");
        let _ = sender.send(StoreChange::Missed).await;
    }
}

fn stream_error<E, R>(
    context: &str,
    error: &aws_sdk_dynamodbstreams::error::SdkError<E, R>,
) -> StoreError
where
    E: aws_sdk_dynamodbstreams::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    StoreError::backend(context, super::Answered(iamwatch_aws::explain(error)))
}
