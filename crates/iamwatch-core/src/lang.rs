//! Readers' languages. Korean is a first-class output, not a translation layer.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Ko,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ko => "ko",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown language {0:?}: expected en or ko")]
pub struct ParseLangError(pub String);

impl FromStr for Lang {
    type Err = ParseLangError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "en" | "english" => Ok(Self::En),
            "ko" | "kr" | "korean" | "한국어" => Ok(Self::Ko),
            _ => Err(ParseLangError(text.to_string())),
        }
    }
}

/// The same text in every language iamwatch speaks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Localized {
    pub en: String,
    pub ko: String,
}

impl Localized {
    pub fn new(en: impl Into<String>, ko: impl Into<String>) -> Self {
        Self {
            en: en.into(),
            ko: ko.into(),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Ko => &self.ko,
        }
    }
}
