//! Every new incident to every open WebSocket connection, through API Gateway's management API
//! (`PostToConnection`). A connection API Gateway says is gone (410, `GoneException`) is
//! deleted from the table; one that fails otherwise is kept and tried with the next incident.
//! Posts go out in parallel, each with a time limit, so a slow endpoint holds up nothing for
//! long.

use crate::connections::Connections;
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_apigatewaymanagement::Client;
use futures_util::StreamExt;
use std::time::Duration;

/// Posts in flight at once.
const IN_FLIGHT: usize = 16;

#[derive(Clone, Debug)]
pub struct Broadcaster {
    client: Client,
    connections: Connections,
    /// One post, every retry included.
    timeout: Duration,
}

/// What one broadcast did.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Broadcast {
    /// Connections that received every message.
    pub delivered: u64,
    /// Connections found gone, and deleted.
    pub gone: u64,
    /// Connections a post failed for otherwise (kept).
    pub failed: u64,
}

enum Delivery {
    Delivered,
    Gone,
    Failed,
}

impl Broadcaster {
    pub fn new(client: Client, connections: Connections, timeout: Duration) -> Self {
        Self {
            client,
            connections,
            timeout,
        }
    }

    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// Sends `messages`, in order, to every connection.
    ///
    /// # Errors
    /// When the connections cannot be listed.
    pub async fn send(
        &self,
        messages: &[String],
    ) -> Result<Broadcast, crate::connections::ConnectionsError> {
        let mut outcome = Broadcast::default();
        if messages.is_empty() {
            return Ok(outcome);
        }
        let ids = self.connections.all().await?;
        let mut deliveries = futures_util::stream::iter(ids)
            .map(|id| async move {
                let delivery = self.deliver(&id, messages).await;
                (id, delivery)
            })
            .buffer_unordered(IN_FLIGHT);
        while let Some((id, delivery)) = deliveries.next().await {
            match delivery {
                Delivery::Delivered => outcome.delivered += 1,
                Delivery::Failed => outcome.failed += 1,
                Delivery::Gone => {
                    outcome.gone += 1;
                    if let Err(error) = self.connections.remove(&id).await {
                        tracing::warn!(%error, connection = %id, "cannot forget a gone connection");
                    }
                }
            }
        }
        Ok(outcome)
    }

    async fn deliver(&self, connection_id: &str, messages: &[String]) -> Delivery {
        for message in messages {
            let post = self
                .client
                .post_to_connection()
                .connection_id(connection_id)
                .data(Blob::new(message.as_bytes()))
                .send();
            match tokio::time::timeout(self.timeout, post).await {
                Ok(Ok(_)) => {}
                Ok(Err(error)) if is_gone(&error) => return Delivery::Gone,
                Ok(Err(error)) => {
                    tracing::warn!(connection = %connection_id, error = %iamwatch_aws::explain(&error), "cannot post to a WebSocket connection");
                    return Delivery::Failed;
                }
                Err(_) => {
                    tracing::warn!(connection = %connection_id, timeout_ms = self.timeout.as_millis() as u64, "a post to a WebSocket connection timed out");
                    return Delivery::Failed;
                }
            }
        }
        Delivery::Delivered
    }
}

/// API Gateway's answer for a connection that is no more: `GoneException`, or a bare 410.
fn is_gone(
    error: &aws_sdk_apigatewaymanagement::error::SdkError<
        PostToConnectionError,
        aws_sdk_apigatewaymanagement::config::http::HttpResponse,
    >,
) -> bool {
    match error {
        aws_sdk_apigatewaymanagement::error::SdkError::ServiceError(service) => {
            service.err().is_gone_exception() || service.raw().status().as_u16() == 410
        }
        _ => false,
    }
}
