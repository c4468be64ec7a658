//! `*` in an S3 location, as a shell expands it over a local copy:
//! `s3://trail/AWSLogs/o-abc/*/CloudTrail/*/2026/12/05/` is a day of an organisation trail across
//! its accounts and regions. S3 has no wildcards; each part holding `*` is matched against the
//! folders S3 lists at that level with the delimiter `/` (and, for the last part, the objects).

use crate::{explain, S3Error, S3Source, S3Url};

pub(crate) fn has_wildcard(key: &str) -> bool {
    key.contains('*')
}

/// The keys and prefixes `url`'s pattern stands for, in key order, none holding `*`.
pub(crate) async fn expand(source: &S3Source, url: &S3Url) -> Result<Vec<String>, S3Error> {
    // Part by part: every key of a round has its next `*` in the same part, so expanding each
    // in order keeps the whole in key order.
    let mut keys = vec![url.key.clone()];
    while keys.iter().any(|key| has_wildcard(key)) {
        let mut next = Vec::new();
        for key in keys {
            if has_wildcard(&key) {
                next.extend(expand_first(source, url, &key).await?);
            } else {
                next.push(key);
            }
        }
        keys = next;
    }
    Ok(keys)
}

/// `key` with its first part holding `*` replaced by each name that matches there.
async fn expand_first(source: &S3Source, url: &S3Url, key: &str) -> Result<Vec<String>, S3Error> {
    let star = key.find('*').unwrap_or(0);
    let start = key[..star].rfind('/').map_or(0, |slash| slash + 1);
    let end = key[star..]
        .find('/')
        .map_or(key.len(), |slash| star + slash);
    let (head, pattern, tail) = (&key[..start], &key[start..end], &key[end..]);
    let mut found = Vec::new();
    let mut pages = source
        .client
        .list_objects_v2()
        .bucket(&url.bucket)
        .prefix(head)
        .delimiter("/")
        .set_max_keys(source.page_size)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| S3Error::Service {
            url: url.to_string(),
            message: explain(&error),
        })?;
        for folder in page.common_prefixes() {
            let Some(folder) = folder.prefix() else {
                continue;
            };
            let name = folder[head.len()..].trim_end_matches('/');
            if matches(pattern, name) {
                found.push(format!("{head}{name}{tail}"));
            }
        }
        if tail.is_empty() {
            for object in page.contents() {
                let Some(object) = object.key() else { continue };
                if matches(pattern, &object[head.len()..]) {
                    found.push(object.to_string());
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Whether `name` (one part of a key, no `/`) matches `pattern`, where `*` stands for any run
/// of characters, none included.
fn matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = &parts[..] else {
        return pattern == name; // no `*`
    };
    if name.len() < first.len() + last.len() || !name.starts_with(first) || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn a_star_stands_for_any_run_of_characters_in_one_part() {
        assert!(matches("*", "111122223333"));
        assert!(matches("*", ""));
        assert!(matches("us-*", "us-east-1"));
        assert!(!matches("us-*", "eu-west-1"));
        assert!(matches(
            "*_CloudTrail_*.json.gz",
            "1_CloudTrail_us-east-1_x.json.gz"
        ));
        assert!(!matches(
            "*_CloudTrail_*.json.gz",
            "1_CloudTrail-Digest_x.json"
        ));
        assert!(matches("0*", "05"));
        assert!(matches("a*b*c", "abc"));
        assert!(!matches("a*b*c", "acb"));
        // The parts around a star may not overlap: "aa" is too short for "a*a" plus an "a".
        assert!(!matches("a*aa", "aa"));
        assert!(matches("05", "05") && !matches("05", "06"));
    }
}
