//! `sourceIPAddress` classification. CloudTrail writes an IP for calls from the internet or a
//! VPC, a service name (`lambda.amazonaws.com`) when a service called on someone's behalf, and
//! `AWS Internal` for the console's back end; anonymised exports carry invalid addresses.

use std::net::IpAddr;

/// `public`, `private`, `loopback`, `link_local`, `aws_service`, `hostname`, `invalid` or
/// `missing`.
pub fn classify(source_ip: &str) -> &'static str {
    let text = source_ip.trim();
    if text.is_empty() {
        return "missing";
    }
    if text.eq_ignore_ascii_case("AWS Internal") || text.ends_with(".amazonaws.com") {
        return "aws_service";
    }
    match text.parse::<IpAddr>() {
        Ok(IpAddr::V4(address)) => {
            let octets = address.octets();
            if address.is_loopback() {
                "loopback"
            } else if address.is_link_local() {
                "link_local"
            } else if address.is_private() || (octets[0] == 100 && (64..128).contains(&octets[1])) {
                // 100.64.0.0/10 is carrier-grade NAT: not routable on the internet either.
                "private"
            } else {
                "public"
            }
        }
        Ok(IpAddr::V6(address)) => {
            let first = address.segments()[0];
            if address.is_loopback() {
                "loopback"
            } else if first & 0xffc0 == 0xfe80 {
                "link_local"
            } else if first & 0xfe00 == 0xfc00 {
                "private"
            } else if let Some(mapped) = address.to_ipv4_mapped() {
                classify(&mapped.to_string())
            } else {
                "public"
            }
        }
        Err(_) => {
            let looks_like_host = text.contains('.')
                && text
                    .chars()
                    .any(|character| character.is_ascii_alphabetic())
                && text.chars().all(|character| {
                    character.is_ascii_alphanumeric() || character == '.' || character == '-'
                });
            if looks_like_host {
                "hostname"
            } else {
                "invalid"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::classify;

    #[test]
    fn addresses_are_classified() {
        for (address, expected) in [
            ("203.0.113.50", "public"),
            ("10.1.2.3", "private"),
            ("172.16.0.9", "private"),
            ("192.168.1.1", "private"),
            ("100.64.1.1", "private"),
            ("127.0.0.1", "loopback"),
            ("169.254.169.254", "link_local"),
            ("2001:db8::1", "public"),
            ("fd00::1", "private"),
            ("fe80::1", "link_local"),
            ("::ffff:10.0.0.1", "private"),
            ("lambda.amazonaws.com", "aws_service"),
            ("AWS Internal", "aws_service"),
            ("proxy.example.com", "hostname"),
            ("201.252.42.03", "invalid"),
            ("", "missing"),
        ] {
            assert_eq!(classify(address), expected, "{address}");
        }
    }
}
