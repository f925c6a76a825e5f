//! Composite alarm rules: `ALARM(x)`, `OK(x)`, `INSUFFICIENT_DATA(x)`, `TRUE`, `FALSE`, combined
//! with `AND`, `OR`, `NOT` and parentheses, as PutCompositeAlarm's AlarmRule. Names may be quoted
//! and may be alarm ARNs (the part after `:alarm:` is the name).

use std::collections::BTreeSet;

use crate::error::{AlarmError, Result};
use crate::names::Names;
use crate::state::AlarmState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    Const(bool),
    /// True when the named alarm is in the given state.
    State(AlarmState, String),
    Not(Box<Rule>),
    And(Box<Rule>, Box<Rule>),
    Or(Box<Rule>, Box<Rule>),
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> AlarmError {
        AlarmError::parse(self.src, self.pos, message)
    }

    fn skip_ws(&mut self) {
        while self.rest().starts_with(|c: char| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or("")
    }

    /// Consumes `word` when it stands alone (not the prefix of a longer word).
    fn keyword(&mut self, word: &str) -> bool {
        self.skip_ws();
        let rest = self.rest();
        let boundary = rest[word.len().min(rest.len())..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        if rest.starts_with(word) && boundary {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn punct(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.rest().starts_with(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Rule> {
        let mut lhs = self.and()?;
        while self.keyword("OR") {
            lhs = Rule::Or(Box::new(lhs), Box::new(self.and()?));
        }
        Ok(lhs)
    }

    fn and(&mut self) -> Result<Rule> {
        let mut lhs = self.not()?;
        while self.keyword("AND") {
            lhs = Rule::And(Box::new(lhs), Box::new(self.not()?));
        }
        Ok(lhs)
    }

    fn not(&mut self) -> Result<Rule> {
        if self.keyword("NOT") {
            return Ok(Rule::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Rule> {
        if self.punct('(') {
            let r = self.or()?;
            if !self.punct(')') {
                return Err(self.err("expected ')'"));
            }
            return Ok(r);
        }
        if self.keyword("TRUE") {
            return Ok(Rule::Const(true));
        }
        if self.keyword("FALSE") {
            return Ok(Rule::Const(false));
        }
        let state = if self.keyword("ALARM") {
            AlarmState::Alarm
        } else if self.keyword("OK") {
            AlarmState::Ok
        } else if self.keyword("INSUFFICIENT_DATA") {
            AlarmState::InsufficientData
        } else {
            return Err(self.err(
                "expected ALARM(..), OK(..), INSUFFICIENT_DATA(..), TRUE, FALSE, NOT or '('",
            ));
        };
        if !self.punct('(') {
            return Err(self.err("expected '(' after state function"));
        }
        self.skip_ws();
        let name = if self.rest().starts_with('"') {
            self.pos += 1;
            let end = self
                .rest()
                .find('"')
                .ok_or_else(|| self.err("unterminated quoted alarm name"))?;
            let name = self.rest()[..end].to_string();
            self.pos += end + 1;
            name
        } else {
            let end = self
                .rest()
                .find(|c: char| c == ')' || c.is_ascii_whitespace())
                .unwrap_or(self.rest().len());
            let name = self.rest()[..end].to_string();
            self.pos += end;
            name
        };
        if name.is_empty() {
            return Err(self.err("empty alarm name"));
        }
        if !self.punct(')') {
            return Err(self.err("expected ')' after alarm name"));
        }
        let name = match name.rsplit_once(":alarm:") {
            Some((_, n)) if name.starts_with("arn:") => n.to_string(),
            _ => name,
        };
        Ok(Rule::State(state, name))
    }
}

impl Names for Rule {
    fn collect(&self, out: &mut BTreeSet<String>) {
        match self {
            Rule::Const(_) => {}
            Rule::State(_, name) => {
                out.insert(name.clone());
            }
            Rule::Not(r) => r.collect(out),
            Rule::And(a, b) | Rule::Or(a, b) => {
                a.collect(out);
                b.collect(out);
            }
        }
    }
}

impl Rule {
    pub fn parse(src: &str) -> Result<Rule> {
        let mut p = Parser { src, pos: 0 };
        let r = p.or()?;
        p.skip_ws();
        if p.pos < src.len() {
            return Err(p.err("unexpected text after rule"));
        }
        Ok(r)
    }

    /// Names of the alarms the rule reads.
    pub fn references(&self) -> BTreeSet<String> {
        self.names()
    }

    /// Evaluates over the children's current states.
    pub fn eval(&self, state_of: &dyn Fn(&str) -> AlarmState) -> bool {
        match self {
            Rule::Const(b) => *b,
            Rule::State(want, name) => state_of(name) == *want,
            Rule::Not(r) => !r.eval(state_of),
            Rule::And(a, b) => a.eval(state_of) && b.eval(state_of),
            Rule::Or(a, b) => a.eval(state_of) || b.eval(state_of),
        }
    }
}
