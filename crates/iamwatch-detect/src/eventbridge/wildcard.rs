//! `wildcard` patterns: `*` is any run of characters, `\*` a literal star, `\\` a backslash.

use memchr::memmem::Finder;

const MAX_STARS: usize = 5;

#[derive(Clone, Debug)]
pub struct Wildcard {
    /// Literal pieces between stars; a star sits between each two.
    pieces: Vec<String>,
    /// A searcher for each piece between the first and the last (those two are matched in
    /// place), built once: `str::find` built one per call, a third of the time a user-agent
    /// wildcard took on each record it was checked on.
    middle: Vec<Finder<'static>>,
}

impl PartialEq for Wildcard {
    fn eq(&self, other: &Self) -> bool {
        self.pieces == other.pieces
    }
}

impl Wildcard {
    /// # Errors
    /// A reason when the pattern has `**` or an escape other than `\*` and `\\`.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut current = String::new();
        let mut characters = pattern.chars();
        let mut previous_was_star = false;
        while let Some(character) = characters.next() {
            let is_star = character == '*';
            match character {
                '*' if previous_was_star => {
                    return Err(format!("wildcard {pattern:?} has consecutive stars"))
                }
                '*' => pieces.push(std::mem::take(&mut current)),
                '\\' => match characters.next() {
                    Some(escaped @ ('*' | '\\')) => current.push(escaped),
                    _ => return Err(format!("wildcard {pattern:?} has an invalid escape")),
                },
                other => current.push(other),
            }
            previous_was_star = is_star;
        }
        pieces.push(current);
        let middle = pieces
            .get(1..pieces.len() - 1)
            .unwrap_or_default()
            .iter()
            .map(|piece| Finder::new(piece.as_bytes()).into_owned())
            .collect();
        Ok(Self { pieces, middle })
    }

    /// [`Wildcard::parse`] plus EventBridge's complexity limit. AWS rejects wildcards "too
    /// complex" by a measure it does not publish (event-ruler's default accepts them); the AWS
    /// vectors reject six stars and its documentation shows three, so more than five is refused.
    ///
    /// # Errors
    /// As [`Wildcard::parse`], or when the pattern has more than five stars.
    pub fn parse_checked(pattern: &str) -> Result<Self, String> {
        let parsed = Self::parse(pattern)?;
        if parsed.pieces.len() > MAX_STARS + 1 {
            return Err(format!(
                "wildcard {pattern:?} is too complex: use at most {MAX_STARS} stars"
            ));
        }
        Ok(parsed)
    }

    pub fn matches(&self, text: &str) -> bool {
        let (first, rest) = match self.pieces.split_first() {
            Some(split) => split,
            None => return text.is_empty(),
        };
        let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
            return false;
        };
        let Some(last) = rest.last() else {
            return remaining.is_empty();
        };
        for finder in &self.middle {
            match finder.find(remaining.as_bytes()) {
                // A match of a whole `&str` piece ends at a character boundary.
                Some(position) => remaining = &remaining[position + finder.needle().len()..],
                None => return false,
            }
        }
        remaining.len() >= last.len() && remaining.ends_with(last.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Wildcard;

    #[test]
    fn stars_match_any_run_and_escapes_are_literal() {
        let bus = Wildcard::parse("arn:aws:events:*:*:event-bus/*").unwrap();
        assert!(bus.matches("arn:aws:events:us-east-1:1:event-bus/default"));
        assert!(!bus.matches("arn:aws:events:us-east-1:1:rule/x"));
        assert!(Wildcard::parse("a\\*b").unwrap().matches("a*b"));
        assert!(!Wildcard::parse("a\\*b").unwrap().matches("axb"));
        assert!(Wildcard::parse("*").unwrap().matches(""));
        assert!(Wildcard::parse("").unwrap().matches(""));
        assert!(!Wildcard::parse("").unwrap().matches("x"));
        assert!(Wildcard::parse("ab*ab").unwrap().matches("abab"));
        assert!(!Wildcard::parse("ab*ab").unwrap().matches("aba"));
        let middle = Wildcard::parse("*aws-cli/*Linux*kali*").unwrap();
        assert!(middle.matches("aws-cli/2.15 Python/3.11 Linux/6.1-kali amd64"));
        assert!(!middle.matches("aws-cli/2.15 Python/3.11 Linux/6.1"));
        assert!(!middle.matches("kali Linux aws-cli/2"));
        assert!(Wildcard::parse("é*ü*ß").unwrap().matches("éaüaß"));
        assert!(Wildcard::parse("a**b").is_err());
        assert!(Wildcard::parse("a\\b").is_err());
    }
}
