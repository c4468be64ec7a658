//! Names people read: services and API calls, in English and Korean.

mod labels;
mod services;

pub use labels::{label, source_of, Label};
pub use services::service_name;
