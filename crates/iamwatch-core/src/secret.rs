//! Secrets (API tokens, webhook URLs that carry their own token, SMTP passwords): held for use,
//! never printed, never serialised.

use serde::Deserialize;
use std::fmt;

/// A secret: its `Debug` says `Secret(****)`, and it has no `Serialize` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The tokens an API token lists, separated by white space (two while one is rotated; no
    /// valid bearer token holds any): what `serve` and the serverless function accept. None
    /// for an empty or blank one, which is no token.
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        self.0.split_whitespace()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// The `IAMWATCH_*_FILE` variables of `environment`, each read: the variable without `_FILE`
/// and the file's text, one final line break taken off. Docker's and Kubernetes' secrets, and
/// systemd's credentials, reach a process as files. Only `IAMWATCH_` names are read, so that no
/// other program's `*_FILE` variable opens a file.
///
/// # Errors
/// A file that cannot be read, or a variable set both ways, named with its variable.
pub fn variables_from_files(
    environment: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<(String, Secret)>, String> {
    let environment: Vec<(String, String)> = environment.into_iter().collect();
    let mut read = Vec::new();
    for (name, path) in &environment {
        let Some(variable) = name
            .strip_suffix("_FILE")
            .filter(|variable| variable.starts_with("IAMWATCH_"))
        else {
            continue;
        };
        if environment
            .iter()
            .any(|(other, value)| other == variable && !value.is_empty())
        {
            return Err(format!("{variable} and {name} are both set: set one"));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("{name} names {path}, which cannot be read: {error}"))?;
        let value = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(&text);
        read.push((variable.to_string(), Secret::new(value)));
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iamwatch_variables_are_read_from_the_files_their_file_variables_name() {
        let dir =
            std::env::temp_dir().join(format!("iamwatch-secret-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let token = dir.join("token");
        std::fs::write(&token, "t0ken\n").unwrap();
        let other = dir.join("other");
        std::fs::write(&other, "x").unwrap();
        let pair =
            |name: &str, value: &std::path::Path| (name.to_string(), value.display().to_string());
        let read = variables_from_files([
            pair("IAMWATCH_TOKEN_FILE", &token),
            pair("PASSWORD_FILE", &other),
            ("IAMWATCH_DB".to_string(), "db".to_string()),
        ])
        .unwrap();
        assert_eq!(read.len(), 1, "only IAMWATCH_ names: {read:?}");
        assert_eq!(read[0].0, "IAMWATCH_TOKEN");
        assert_eq!(read[0].1.expose(), "t0ken");

        let both = variables_from_files([
            pair("IAMWATCH_TOKEN_FILE", &token),
            ("IAMWATCH_TOKEN".to_string(), "t".to_string()),
        ])
        .unwrap_err();
        assert!(
            both.contains("IAMWATCH_TOKEN and IAMWATCH_TOKEN_FILE are both set"),
            "{both}"
        );
        let missing =
            variables_from_files([pair("IAMWATCH_HOOK_FILE", &dir.join("none"))]).unwrap_err();
        assert!(
            missing.starts_with("IAMWATCH_HOOK_FILE names ") && missing.contains("cannot be read"),
            "{missing}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_secret_is_never_printed() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(****)");
        assert_eq!(secret.expose(), "hunter2");
    }
}
