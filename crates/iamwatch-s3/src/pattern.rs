//! `*` in an S3 location, as a shell expands it over a local copy:
//! `s3://trail/AWSLogs/o-abc/*/CloudTrail/*/2026/12/05/` is a day of an organisation trail across
//! its accounts and regions. S3 has no wildcards; each part holding `*` is matched against the
//! folders S3 lists at that level with the delimiter `/` (and, for the last part, the objects).

use crate::listing::each_page;
use crate::{S3Error, S3Source, S3Url};

pub(crate) fn has_wildcard(key: &str) -> bool {
    key.contains('*')
}

/// What a pattern stands for: folders (or keys) still to be listed, and objects its last part
/// matched, already listed with their sizes.
#[derive(Debug)]
pub(crate) enum Found {
    Prefix(String),
    Object { key: String, size: Option<u64> },
}

impl Found {
    fn key(&self) -> &str {
        match self {
            Self::Prefix(key) | Self::Object { key, .. } => key,
        }
    }
}

/// Everything `url`'s pattern stands for, in key order, no prefix holding `*`.
pub(crate) async fn expand(source: &S3Source, url: &S3Url) -> Result<Vec<Found>, S3Error> {
    // Part by part: every prefix of a round has its next `*` in the same part, so expanding
    // each in order keeps the whole in key order.
    let mut found = vec![Found::Prefix(url.key.clone())];
    while found
        .iter()
        .any(|item| matches!(item, Found::Prefix(key) if has_wildcard(key)))
    {
        let mut next = Vec::new();
        for item in found {
            match item {
                Found::Prefix(key) if has_wildcard(&key) => {
                    next.extend(expand_first(source, url, &key).await?);
                }
                done => next.push(done),
            }
        }
        found = next;
    }
    Ok(found)
}

/// `key` with its first part holding `*` replaced by each name that matches there.
async fn expand_first(source: &S3Source, url: &S3Url, key: &str) -> Result<Vec<Found>, S3Error> {
    let star = key.find('*').unwrap_or(0);
    let start = key[..star].rfind('/').map_or(0, |slash| slash + 1);
    let end = key[star..]
        .find('/')
        .map_or(key.len(), |slash| star + slash);
    let (head, pattern, tail) = (&key[..start], &key[start..end], &key[end..]);
    let mut found = Vec::new();
    each_page(source, url, head, Some("/"), |page| {
        for folder in page.common_prefixes() {
            // (What S3 answers starts with the prefix asked; a server that did otherwise is
            // not followed, rather than trusted to slice.)
            let Some(name) = folder.prefix().and_then(|folder| folder.strip_prefix(head)) else {
                continue;
            };
            let name = name.trim_end_matches('/');
            if matches(pattern, name) {
                found.push(Found::Prefix(format!("{head}{name}{tail}")));
            }
        }
        if tail.is_empty() {
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                if key
                    .strip_prefix(head)
                    .is_some_and(|name| matches(pattern, name))
                {
                    let size = object.size().and_then(|size| u64::try_from(size).ok());
                    found.push(Found::Object {
                        key: key.to_string(),
                        size,
                    });
                }
            }
        }
    })
    .await?;
    found.sort_by(|one, other| one.key().cmp(other.key()));
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
