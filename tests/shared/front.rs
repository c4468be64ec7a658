//! A front for the moto server: a real HTTP server that answers some requests itself (as AWS
//! answers what moto never does: a redirect, a failure) and passes every other to moto. One
//! request per connection, closed after the answer, so that no request on a kept-alive
//! connection slips past the check.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

/// Starts a front for `moto` (its endpoint); `answer` is given each request's head (request
/// line and headers, one a line) and body, and answers it (a whole HTTP response) or leaves
/// it to moto. The front's endpoint.
pub fn start(
    moto: &str,
    answer: impl Fn(&str, &[u8]) -> Option<Vec<u8>> + Send + Sync + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let moto = moto.trim_start_matches("http://").to_string();
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for mut connection in listener.incoming().flatten() {
            let (answer, moto) = (std::sync::Arc::clone(&answer), moto.clone());
            std::thread::spawn(move || {
                let Some((head, body)) = read_request(&connection) else {
                    return;
                };
                let reply = answer(&head, &body).unwrap_or_else(|| forward(&moto, &head, &body));
                let _ = connection.write_all(&reply);
            });
        }
    });
    endpoint
}

/// The request as it came, but for its `Connection` header, and moto's whole answer.
fn forward(moto: &str, head: &str, body: &[u8]) -> Vec<u8> {
    let mut request = String::new();
    for line in head.lines().filter(|line| !line.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            request.push_str(line);
            request.push_str("\r\n");
        }
    }
    request.push_str("Connection: close\r\n\r\n");
    let mut answer = Vec::new();
    if let Ok(mut moto) = TcpStream::connect(moto) {
        let _ = moto.write_all(request.as_bytes());
        let _ = moto.write_all(body);
        let _ = moto.read_to_end(&mut answer);
    }
    answer
}

/// A request's head (request line and headers, `\r\n` taken off each) and its body.
fn read_request(connection: &TcpStream) -> Option<(String, Vec<u8>)> {
    let mut reader = BufReader::new(connection);
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
        head.push_str(line);
        head.push('\n');
        if line.is_empty() {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((head, body))
}
