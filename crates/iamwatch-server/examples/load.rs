//! Load generator for `iamwatch serve` (run by bench/serve_load.sh): posts CloudTrail records
//! as EventBridge events at a fixed rate while WebSocket clients listen, then reports what was
//! accepted, what any client missed, and ingest → client latency.
//!
//! Usage: load URL TOKEN DATA_DIR [RATE] [SECONDS] [CLIENTS] [PER_REQUEST]

use futures_util::StreamExt;
use serde_json::Value;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .ok_or("usage: load URL TOKEN DATA_DIR [RATE] [SECONDS] [CLIENTS] [PER_REQUEST]")?
        .clone();
    let token = args.get(2).ok_or("token missing")?.clone();
    let data = std::path::PathBuf::from(args.get(3).ok_or("data dir missing")?);
    let rate: u64 = args.get(4).map_or(Ok(5000), |value| value.parse())?;
    let seconds: u64 = args.get(5).map_or(Ok(60), |value| value.parse())?;
    let clients: usize = args.get(6).map_or(Ok(50), |value| value.parse())?;
    let per_request: usize = args.get(7).map_or(Ok(1), |value| value.parse())?;
    let total = (rate * seconds) as usize;
    let bodies = prepare(&data, total, per_request)?;
    eprintln!("prepared {total} events in {} requests", bodies.len());
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(url, token, bodies, total, rate, clients, per_request))
}

/// Request bodies: EventBridge events, each record with a unique id `load-<run>-<index>`.
fn prepare(
    data: &std::path::Path,
    total: usize,
    per_request: usize,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let mut files: Vec<_> = std::fs::read_dir(data)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    files.sort();
    let mut events = Vec::with_capacity(total);
    'files: for path in files.iter().cycle().take(files.len() * 100) {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(path)?).read_to_string(&mut text)?;
        let file: Value = serde_json::from_str(&text)?;
        for record in file["Records"].as_array().into_iter().flatten() {
            if events.len() == total {
                break 'files;
            }
            let mut record = record.clone();
            record["eventID"] = Value::from(format!("load-{run}-{}", events.len()));
            let source = record["eventSource"]
                .as_str()
                .unwrap_or("aws.unknown")
                .split('.')
                .next()
                .unwrap_or("unknown")
                .to_string();
            events.push(serde_json::json!({
                "version": "0", "id": format!("eb-{}", events.len()),
                "detail-type": "AWS API Call via CloudTrail", "source": format!("aws.{source}"),
                "account": record["recipientAccountId"].clone(), "time": record["eventTime"].clone(),
                "region": record["awsRegion"].clone(), "resources": [], "detail": record,
            }).to_string());
        }
    }
    Ok(events
        .chunks(per_request)
        .map(|chunk| chunk.join("\n"))
        .collect())
}

fn now_micros(origin: Instant) -> u64 {
    origin.elapsed().as_micros() as u64
}

/// The event index from `"event_id":"load-<run>-<index>"` in a message, without parsing it all.
fn event_index(message: &str) -> Option<usize> {
    let start = message.find("\"event_id\":\"load-")? + "\"event_id\":\"load-".len();
    let rest = &message[start..];
    let rest = &rest[rest.find('-')? + 1..];
    rest[..rest.find('"')?].parse().ok()
}

async fn run(
    url: String,
    token: String,
    bodies: Vec<String>,
    total: usize,
    rate: u64,
    clients: usize,
    per_request: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let origin = Instant::now();
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let ws_url = format!("{}/v1/stream?token={token}", url.replacen("http", "ws", 1));
    let mut listeners = Vec::new();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    for _ in 0..clients {
        let (mut socket, _) = tokio_tungstenite::connect_async(&ws_url).await?;
        let sent_at = Arc::clone(&sent_at);
        let mut stopped = stopped.clone();
        listeners.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut seen = vec![false; sent_at.len()];
            let mut received = 0usize;
            loop {
                let message = tokio::select! {
                    message = socket.next() => message,
                    _ = stopped.changed() => break,
                };
                let Some(Ok(message)) = message else { break };
                let tokio_tungstenite::tungstenite::Message::Text(text) = message else {
                    continue;
                };
                let Some(index) = event_index(&text) else {
                    continue;
                };
                let now = now_micros(origin);
                if index < seen.len() && !seen[index] {
                    seen[index] = true;
                    received += 1;
                    latencies.push(now.saturating_sub(sent_at[index].load(Ordering::Relaxed)));
                }
            }
            (received, latencies)
        }));
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()?;
    let accepted = Arc::new(AtomicU64::new(0));
    let created = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let retried = Arc::new(AtomicU64::new(0));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(512));
    let request_rate = rate as f64 / per_request as f64;
    let started = Instant::now();
    let mut requests = Vec::with_capacity(bodies.len());
    let mut behind_max = Duration::ZERO;
    for (number, body) in bodies.into_iter().enumerate() {
        let due = started + Duration::from_secs_f64(number as f64 / request_rate);
        let now = Instant::now();
        if due > now {
            tokio::time::sleep(due - now).await;
        } else {
            behind_max = behind_max.max(now - due);
        }
        let permit = Arc::clone(&in_flight).acquire_owned().await?;
        let first_index = number * per_request;
        let count = per_request.min(total - first_index);
        let stamp = now_micros(origin);
        for index in first_index..first_index + count {
            sent_at[index].store(stamp, Ordering::Relaxed);
        }
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        let (accepted, created, refused, retried) = (
            Arc::clone(&accepted),
            Arc::clone(&created),
            Arc::clone(&refused),
            Arc::clone(&retried),
        );
        requests.push(tokio::spawn(async move {
            // Like EventBridge API destinations: retry 429/503 after Retry-After, a few times.
            let mut retries = 0;
            loop {
                let response = http
                    .post(format!("{url}/v1/events"))
                    .bearer_auth(&token)
                    .body(body.clone())
                    .send()
                    .await;
                match response {
                    Ok(response) if response.status().as_u16() == 202 => {
                        let summary: Value = response.json().await.unwrap_or_default();
                        accepted.fetch_add(
                            summary["accepted"].as_u64().unwrap_or(0),
                            Ordering::Relaxed,
                        );
                        created.fetch_add(
                            summary["incidents"].as_u64().unwrap_or(0),
                            Ordering::Relaxed,
                        );
                    }
                    Ok(response)
                        if matches!(response.status().as_u16(), 429 | 503) && retries < 5 =>
                    {
                        retries += 1;
                        retried.fetch_add(1, Ordering::Relaxed);
                        let wait = response
                            .headers()
                            .get("retry-after")
                            .and_then(|value| value.to_str().ok()?.parse().ok())
                            .unwrap_or(1);
                        tokio::time::sleep(Duration::from_secs(wait)).await;
                        continue;
                    }
                    Ok(response) => {
                        refused.fetch_add(count as u64, Ordering::Relaxed);
                        eprintln!("refused: {}", response.status());
                    }
                    Err(error) => {
                        refused.fetch_add(count as u64, Ordering::Relaxed);
                        eprintln!("request failed: {error}");
                    }
                }
                break;
            }
            drop(permit);
        }));
    }
    for request in requests {
        request.await?;
    }
    let sending = started.elapsed();
    // Give the last broadcasts a moment, then stop listening.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = stop.send(true);
    let created = created.load(Ordering::Relaxed) as usize;
    let mut latencies = Vec::new();
    let mut lost = 0usize;
    for listener in listeners {
        let (received, mut client_latencies) = listener.await?;
        lost += created.saturating_sub(received);
        latencies.append(&mut client_latencies);
    }
    latencies.sort_unstable();
    let percentile = |share: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        latencies[((latencies.len() - 1) as f64 * share).round() as usize] as f64 / 1000.0
    };
    println!("sent events         {total}");
    println!(
        "send time           {:.1} s (target {} s; the sender fell behind by at most {:.1} ms)",
        sending.as_secs_f64(),
        total as u64 / rate,
        behind_max.as_secs_f64() * 1000.0
    );
    println!("accepted (202)      {}", accepted.load(Ordering::Relaxed));
    println!("retried (429/503)   {}", retried.load(Ordering::Relaxed));
    println!("refused or failed   {}", refused.load(Ordering::Relaxed));
    println!("incidents created   {created}");
    println!("live clients        {clients}");
    println!(
        "deliveries          {} (incidents × clients = {})",
        latencies.len(),
        created * clients
    );
    println!("lost                {lost}");
    println!("latency p50         {:.2} ms", percentile(0.50));
    println!("latency p99         {:.2} ms", percentile(0.99));
    println!("latency max         {:.2} ms", percentile(1.0));
    Ok(())
}
