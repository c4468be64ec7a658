//! The table: made when missing (on demand, its listing index with it), and checked to be
//! iamwatch's when it is there.

use super::items::{
    LISTED, LISTING, LISTING_INDEX, LISTING_ORDER, PK, SK, UPDATES_INDEX, UPDATE_ORDER,
};
use super::{dynamo_error, DynamoStore};
use crate::StoreError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TableDescription, TableStatus,
};
use std::time::{Duration, Instant};

/// How long a table (and its index) may take to become usable once created: AWS takes seconds
/// to a minute.
const ACTIVE_WITHIN: Duration = Duration::from_secs(120);

/// The table's description, `None` when there is no such table.
pub async fn describe(store: &DynamoStore) -> Result<Option<TableDescription>, StoreError> {
    match store
        .client
        .describe_table()
        .table_name(store.table.name())
        .send()
        .await
    {
        Ok(output) => Ok(output.table),
        Err(error)
            if matches!(
                error.as_service_error(),
                Some(DescribeTableError::ResourceNotFoundException(_))
            ) =>
        {
            Ok(None)
        }
        Err(error) => Err(dynamo_error(
            format!("cannot read the table {}", store.table),
            error,
        )),
    }
}

/// Makes the table unless it is there, then waits until it and its index can be used.
pub async fn create_unless_there(store: &DynamoStore) -> Result<(), StoreError> {
    let description = match describe(store).await? {
        Some(description) => description,
        None => {
            create(store).await?;
            wait_until_active(store).await?
        }
    };
    check_shape(store, &description)?;
    if !active(&description) {
        wait_until_active(store).await?;
    }
    Ok(())
}

async fn create(store: &DynamoStore) -> Result<(), StoreError> {
    let text_key = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("name and type are set")
    };
    let key = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .expect("name and type are set")
    };
    // Both indexes hold what a listing shows.
    let index = |name: &str, order: &str| {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(LISTING, KeyType::Hash))
            .key_schema(key(order, KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::Include)
                    .set_non_key_attributes(Some(
                        LISTED.iter().map(|name| name.to_string()).collect(),
                    ))
                    .build(),
            )
            .build()
            .expect("name and keys are set")
    };
    let created = store
        .client
        .create_table()
        .table_name(store.table.name())
        .attribute_definitions(text_key(PK))
        .attribute_definitions(text_key(SK))
        .attribute_definitions(text_key(LISTING))
        .attribute_definitions(text_key(LISTING_ORDER))
        .attribute_definitions(text_key(UPDATE_ORDER))
        .key_schema(key(PK, KeyType::Hash))
        .key_schema(key(SK, KeyType::Range))
        .global_secondary_indexes(index(LISTING_INDEX, LISTING_ORDER))
        .global_secondary_indexes(index(UPDATES_INDEX, UPDATE_ORDER))
        .billing_mode(BillingMode::PayPerRequest)
        // What `serve`s sharing the table follow (`stream.rs`).
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .expect("enabled is set"),
        )
        .send()
        .await;
    match created {
        Ok(_) => {
            tracing::info!(table = %store.table, "created the DynamoDB table");
            Ok(())
        }
        // Another process made it meanwhile.
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|error| error.is_resource_in_use_exception()) =>
        {
            Ok(())
        }
        Err(error) => Err(dynamo_error(
            format!("cannot create the table {}", store.table),
            error,
        )),
    }
}

fn active(description: &TableDescription) -> bool {
    description.table_status() == Some(&TableStatus::Active)
        && description
            .global_secondary_indexes()
            .iter()
            .all(|index| index.index_status() == Some(&IndexStatus::Active))
}

async fn wait_until_active(store: &DynamoStore) -> Result<TableDescription, StoreError> {
    let started = Instant::now();
    loop {
        if let Some(description) = describe(store).await? {
            if active(&description) {
                return Ok(description);
            }
        }
        if started.elapsed() > ACTIVE_WITHIN {
            return Err(StoreError::backend(
                format!("the table {} is not active yet", store.table),
                std::io::Error::from(std::io::ErrorKind::TimedOut),
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A table that is not iamwatch's (other keys, not its indexes) is refused rather than written
/// into.
pub fn check_shape(store: &DynamoStore, description: &TableDescription) -> Result<(), StoreError> {
    let keys: Vec<(&str, &KeyType)> = description
        .key_schema()
        .iter()
        .map(|key| (key.attribute_name(), key.key_type()))
        .collect();
    let has = |name: &str| {
        description
            .global_secondary_indexes()
            .iter()
            .any(|index| index.index_name() == Some(name))
    };
    if keys != [(PK, &KeyType::Hash), (SK, &KeyType::Range)]
        || !has(LISTING_INDEX)
        || !has(UPDATES_INDEX)
    {
        return Err(StoreError::Invalid(format!(
            "the table {} is not an iamwatch table (it needs the keys {PK} and {SK} and the indexes {LISTING_INDEX} and {UPDATES_INDEX}); name another, or a new one",
            store.table
        )));
    }
    Ok(())
}
