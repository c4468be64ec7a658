//! `iamwatch serve` end to end: the real binary on a free port with a temporary SQLite store,
//! real HTTP and WebSocket clients.

mod api;
mod browser;
mod correlate;
#[path = "../shared/damage.rs"]
mod damage;
mod damaged;
mod dynamodb;
#[path = "../shared/front.rs"]
mod front;
mod geoip;
#[path = "../shared/iam_account.rs"]
mod iam_account;
mod ingest;
mod lambda;
#[path = "../shared/lambda_runtime.rs"]
mod lambda_runtime;
mod live;
#[path = "../shared/moto.rs"]
mod moto;
mod notify;
mod outbox;
mod postgres;
mod posture;
#[path = "../shared/receiver.rs"]
mod receiver;
mod reload;
mod respond;
mod s3_follow;
#[path = "../shared/s3_region.rs"]
mod s3_region;
mod secrets;
mod server;
mod shutdown;
mod sqs;
mod systemd;
mod threshold;
mod token_reload;
