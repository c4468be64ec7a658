//! Payloads AWS hands over encoded: `{"data":"<base64>"}`, often gzipped inside (a CloudWatch
//! Logs subscription's batch to Lambda, a Kinesis record's data).

use base64::Engine;
use serde::Deserialize;
use std::borrow::Cow;
use std::io::Read;

/// Decoded data is at most this large: CloudWatch Logs sends at most 1 MB of events per batch
/// and a Kinesis record holds at most 10 MB, so anything larger is not one of them (and might
/// be a decompression bomb).
pub(super) const MAX_DECODED_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Deserialize)]
struct DataPayload<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
}

/// The bytes of the base64 `data` member of `payload`, a JSON object. Errors name the payload
/// as `holder` (`"Kinesis record"`) and its data as `source`'s (`"Kinesis"`).
pub(super) fn base64_data(payload: &str, holder: &str, source: &str) -> Result<Vec<u8>, String> {
    let payload: DataPayload<'_> =
        serde_json::from_str(payload).map_err(|error| format!("{holder} without data: {error}"))?;
    base64::engine::general_purpose::STANDARD
        .decode(payload.data.as_bytes())
        .map_err(|error| format!("{source} data is not base64: {error}"))
}

/// `compressed` gunzipped (every member), at most [`MAX_DECODED_BYTES`]; errors name the data
/// as `source`'s.
pub(super) fn gunzip(compressed: &[u8], source: &str) -> Result<Vec<u8>, String> {
    let mut inflated = Vec::new();
    flate2::read::MultiGzDecoder::new(compressed)
        .take(MAX_DECODED_BYTES + 1)
        .read_to_end(&mut inflated)
        .map_err(|error| format!("{source} data is not gzip: {error}"))?;
    if inflated.len() as u64 > MAX_DECODED_BYTES {
        return Err(format!(
            "{source} data inflates to more than {MAX_DECODED_BYTES} bytes"
        ));
    }
    Ok(inflated)
}
