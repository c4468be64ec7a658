//! The open WebSocket connections, one DynamoDB item each (`connection_id`), so that every
//! instance of the function reaches every client. Items carry an `expires_at` for the table's
//! TTL: API Gateway ends a connection after two hours, and a `$disconnect` can be missed.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

/// The key attribute.
pub const CONNECTION_ID: &str = "connection_id";
/// When the item may be deleted by the table's TTL (epoch seconds).
pub const EXPIRES_AT: &str = "expires_at";
/// API Gateway's longest connection.
const LONGEST_CONNECTION_SECS: i64 = 2 * 60 * 60;

#[derive(Debug, thiserror::Error)]
#[error("the connections table {table}: {message}")]
pub struct ConnectionsError {
    pub table: String,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct Connections {
    client: Client,
    table: String,
}

impl Connections {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    fn error(&self, message: String) -> ConnectionsError {
        ConnectionsError {
            table: self.table.clone(),
            message,
        }
    }

    /// Records a connection opened at `now_ms`.
    ///
    /// # Errors
    /// What DynamoDB answered.
    pub async fn add(&self, connection_id: &str, now_ms: i64) -> Result<(), ConnectionsError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(CONNECTION_ID, AttributeValue::S(connection_id.to_string()))
            .item("connected_at", AttributeValue::N(now_ms.to_string()))
            .item(
                EXPIRES_AT,
                AttributeValue::N((now_ms / 1000 + LONGEST_CONNECTION_SECS).to_string()),
            )
            .send()
            .await
            .map_err(|error| self.error(iamwatch_aws::explain(&error)))?;
        Ok(())
    }

    /// Forgets a connection (closed, or found gone).
    ///
    /// # Errors
    /// What DynamoDB answered.
    pub async fn remove(&self, connection_id: &str) -> Result<(), ConnectionsError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(CONNECTION_ID, AttributeValue::S(connection_id.to_string()))
            .send()
            .await
            .map_err(|error| self.error(iamwatch_aws::explain(&error)))?;
        Ok(())
    }

    /// Every connection recorded, page by page.
    ///
    /// # Errors
    /// What DynamoDB answered.
    pub async fn all(&self) -> Result<Vec<String>, ConnectionsError> {
        let mut ids = Vec::new();
        let mut start: Option<std::collections::HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .projection_expression("#id")
                .expression_attribute_names("#id", CONNECTION_ID)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| self.error(iamwatch_aws::explain(&error)))?;
            for item in page.items() {
                if let Some(AttributeValue::S(id)) = item.get(CONNECTION_ID) {
                    ids.push(id.clone());
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(ids),
            }
        }
    }
}
