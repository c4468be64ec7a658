//! Sigma's `condition` expression: `selection and not 1 of filter_*`, parsed into a tree.

use crate::eventbridge::wildcard::Wildcard;

/// A condition, with `1 of` / `all of` already expanded to the selections they name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Expr {
    Selection(String),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

/// Parses `text`; `names` are the detection's selections, for `1 of x*` and `them`.
pub(super) fn parse(text: &str, names: &[String]) -> Result<Expr, String> {
    if text.contains('|') {
        return Err(format!(
            "condition {text:?} aggregates (`| count()`) in a list of conditions: a count is supported only as the rule's one condition"
        ));
    }
    let tokens: Vec<String> = text
        .replace('(', " ( ")
        .replace(')', " ) ")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut parser = Parser {
        tokens,
        at: 0,
        names,
    };
    let expr = parser.or()?;
    match parser.tokens.get(parser.at) {
        None => Ok(expr),
        Some(extra) => Err(format!("condition {text:?}: unexpected {extra:?}")),
    }
}

struct Parser<'n> {
    tokens: Vec<String>,
    at: usize,
    names: &'n [String],
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn next(&mut self) -> Option<String> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn or(&mut self) -> Result<Expr, String> {
        self.joined("or", Self::and, Expr::Or)
    }

    fn and(&mut self) -> Result<Expr, String> {
        self.joined("and", Self::not, Expr::And)
    }

    /// Operands (read by `operand`) joined by `word`, as one `many` when more than one.
    fn joined(
        &mut self,
        word: &str,
        operand: fn(&mut Self) -> Result<Expr, String>,
        many: fn(Vec<Expr>) -> Expr,
    ) -> Result<Expr, String> {
        let mut terms = vec![operand(self)?];
        while self
            .peek()
            .is_some_and(|token| token.eq_ignore_ascii_case(word))
        {
            self.at += 1;
            terms.push(operand(self)?);
        }
        Ok(one_or(terms, many))
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self
            .peek()
            .is_some_and(|token| token.eq_ignore_ascii_case("not"))
        {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, String> {
        let token = self
            .next()
            .ok_or_else(|| "the condition ends too soon".to_string())?;
        if token == "(" {
            let inner = self.or()?;
            return match self.next().as_deref() {
                Some(")") => Ok(inner),
                _ => Err("a `(` is not closed".to_string()),
            };
        }
        let quantifier = if token == "1" || token.eq_ignore_ascii_case("any") {
            Some(false)
        } else if token.eq_ignore_ascii_case("all") {
            Some(true)
        } else {
            None
        };
        if let Some(all) = quantifier {
            if !self.next().is_some_and(|of| of.eq_ignore_ascii_case("of")) {
                return Err(format!("`{token}` must be followed by `of`"));
            }
            let target = self
                .next()
                .ok_or_else(|| format!("`{token} of` names no selections"))?;
            let them = target.eq_ignore_ascii_case("them");
            let pattern = name_pattern(&target)?;
            let named: Vec<Expr> = self
                .names
                .iter()
                .filter(|name| them || pattern.matches(name))
                .map(|name| Expr::Selection(name.clone()))
                .collect();
            if named.is_empty() {
                return Err(format!("`{token} of {target}` names no selection"));
            }
            return Ok(one_or(named, if all { Expr::And } else { Expr::Or }));
        }
        if !self.names.contains(&token) {
            return Err(format!(
                "the condition names {token:?}, which is no selection"
            ));
        }
        Ok(Expr::Selection(token))
    }
}

fn one_or(mut terms: Vec<Expr>, many: fn(Vec<Expr>) -> Expr) -> Expr {
    if terms.len() == 1 {
        terms.remove(0)
    } else {
        many(terms)
    }
}

/// A quantifier's name pattern (`selection_*`, where `*` stands for any run of characters) as
/// the wildcard rule patterns use, which finds each piece between stars once: linear in the
/// name. (A matcher trying every stop of every `*` was exponential in the stars: `1 of
/// a*a*…*b` over selections named `aaaa…` held a rule file's loading for minutes, found by the
/// `rules` fuzz target.) In a name only `*` is special: a `\` is escaped, a run of stars is one.
fn name_pattern(target: &str) -> Result<Wildcard, String> {
    let mut wildcard = String::with_capacity(target.len());
    let mut previous = None;
    for character in target.chars() {
        match character {
            '\\' => wildcard.push_str("\\\\"),
            '*' if previous == Some('*') => {}
            other => wildcard.push(other),
        }
        previous = Some(character);
    }
    Wildcard::parse(&wildcard)
}

#[cfg(test)]
mod tests {
    use super::{parse, Expr};

    /// Whether the name pattern `pattern` matches `name`.
    fn glob(pattern: &str, name: &str) -> bool {
        super::name_pattern(pattern).unwrap().matches(name)
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_string()).collect()
    }

    fn sel(name: &str) -> Expr {
        Expr::Selection(name.to_string())
    }

    proptest::proptest! {
        /// The same verdict as a regular expression where `*` is `.*` and the rest literal.
        #[test]
        fn a_name_pattern_matches_as_its_regular_expression_does(
            pattern in "[ab*é\\\\]{0,12}",
            name in "[abé\\\\]{0,12}",
        ) {
            let expression = format!(
                "^{}$",
                pattern.split('*').map(regex::escape).collect::<Vec<_>>().join(".*")
            );
            let expected = regex::Regex::new(&expression).unwrap().is_match(&name);
            proptest::prop_assert_eq!(glob(&pattern, &name), expected, "{} {}", pattern, name);
        }
    }

    /// Thirty stars over sixty characters: answered at once, where trying every stop of every
    /// star would take longer than any test run.
    #[test]
    fn a_name_pattern_of_many_stars_is_decided_without_backtracking_through_them() {
        let pattern = format!("{}b", "a*".repeat(30));
        assert!(!glob(&pattern, &"a".repeat(60)));
        assert!(glob(&pattern, &format!("{}b", "a".repeat(60))));
        let matched = format!("{}b", "a".repeat(60));
        let names = vec!["a".repeat(60), matched.clone(), "sel".to_string()];
        let condition = format!("1 of {pattern} and not sel");
        assert_eq!(
            parse(&condition, &names).unwrap(),
            Expr::And(vec![sel(&matched), Expr::Not(Box::new(sel("sel")))])
        );
    }

    #[test]
    fn conditions_parse_with_precedence_quantifiers_and_parentheses() {
        let all = names(&["selection", "filter_main_a", "filter_main_b", "filter_x"]);
        assert_eq!(
            parse("selection and not 1 of filter_main_*", &all).unwrap(),
            Expr::And(vec![
                sel("selection"),
                Expr::Not(Box::new(Expr::Or(vec![
                    sel("filter_main_a"),
                    sel("filter_main_b")
                ])))
            ])
        );
        assert_eq!(
            parse("selection or filter_x and not (filter_main_a)", &all).unwrap(),
            Expr::Or(vec![
                sel("selection"),
                Expr::And(vec![
                    sel("filter_x"),
                    Expr::Not(Box::new(sel("filter_main_a")))
                ])
            ])
        );
        assert_eq!(
            parse("all of them", &names(&["a", "b"])).unwrap(),
            Expr::And(vec![sel("a"), sel("b")])
        );
        assert_eq!(
            parse("1 of sel*", &names(&["selection"])).unwrap(),
            sel("selection")
        );
        assert_eq!(
            parse("1 of s*n_é*", &names(&["sélection_éa", "s_x"])).unwrap(),
            sel("sélection_éa")
        );
    }

    #[test]
    fn what_cannot_be_read_is_said() {
        let all = names(&["selection"]);
        assert!(parse("selection | count() > 5", &all)
            .unwrap_err()
            .contains("aggregates"));
        assert!(parse("selectoin", &all)
            .unwrap_err()
            .contains("no selection"));
        assert!(parse("(selection", &all)
            .unwrap_err()
            .contains("not closed"));
        assert!(parse("1 of filter_*", &all)
            .unwrap_err()
            .contains("names no selection"));
        assert!(parse("selection selection", &all)
            .unwrap_err()
            .contains("unexpected"));
        assert!(parse("", &all).unwrap_err().contains("too soon"));
    }
}
