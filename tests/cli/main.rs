//! Integration tests: the real `iamwatch` binary on real files and a real SQLite database.

mod archives;
mod corpus;
mod correlate;
#[path = "../shared/damage.rs"]
mod damage;
mod damaged;
mod durability;
mod dynamodb;
mod exports;
mod forwarder;
mod geoip;
mod golden;
mod helpers;
#[path = "../shared/iam_account.rs"]
mod iam_account;
mod incidents;
mod inputs;
mod live_pipe;
#[path = "../shared/moto.rs"]
mod moto;
mod notify;
mod pattern;
mod postgres;
mod posture;
#[path = "../shared/receiver.rs"]
mod receiver;
mod respond;
mod rules;
mod s3;
mod scan;
mod serverless;
mod shapes;
mod sigma;
mod sigma_count;
mod sigma_temporal;
mod thresholds;
