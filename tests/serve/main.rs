//! `iamwatch serve` end to end: the real binary on a free port with a temporary SQLite store,
//! real HTTP and WebSocket clients.

mod api;
mod browser;
#[path = "../shared/damage.rs"]
mod damage;
mod damaged;
mod ingest;
mod live;
mod server;
mod shutdown;
