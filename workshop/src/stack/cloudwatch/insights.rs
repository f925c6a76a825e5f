//! The part of CloudWatch Logs Insights the dashboards' log widgets use, over the local stack's
//! JSON log lines: `SOURCE`, `fields`, `filter` (`=`, `!=`, `<`, `>`, `<=`, `>=`, `like`,
//! `ispresent()`, `not`, `and`, `or`, parentheses), `sort`, `limit` and
//! `stats count() as NAME by FIELD`. Anything else is an error naming it, so a widget whose
//! query this cannot run says so instead of showing wrong rows.

use serde_json::{Map, Value};
use std::cmp::Ordering;

/// Logs Insights' default and maximum row counts.
pub const DEFAULT_LIMIT: usize = 1000;
pub const MAX_LIMIT: usize = 10_000;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error(
        "unsupported command {0:?} (the local console runs SOURCE, fields, filter, sort, limit, stats count() ... by)"
    )]
    Unsupported(String),
    #[error("cannot parse {0:?}: {1}")]
    Syntax(String, &'static str),
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Present(String),
    Compare(String, Op, Value),
    Not(Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Like,
}

#[derive(Debug, Clone, PartialEq)]
enum Command {
    Fields(Vec<String>),
    Filter(Cond),
    Sort(String, bool),
    Limit(usize),
    /// `stats count() as name by field`
    Count {
        name: String,
        by: String,
    },
}

/// A parsed query: the log groups it reads and its commands, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub sources: Vec<String>,
    commands: Vec<Command>,
}

/// The result: column names and rows (each a JSON object keyed by column).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Map<String, Value>>,
}

/// Splits on `|` outside quotes.
fn split_pipes(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in q.chars() {
        match (quote, c) {
            (Some(open), c) if c == open => {
                quote = None;
                cur.push(c);
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, '|') => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `@timestamp` and `@message` are the lines' `timestamp` and `message`.
fn field_key(name: &str) -> &str {
    match name {
        "@timestamp" => "timestamp",
        "@message" => "message",
        other => other,
    }
}

struct Tokens {
    items: Vec<String>,
    at: usize,
}

fn tokenize(s: &str) -> Result<Vec<String>, QueryError> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' {
            let end = chars[i + 1..]
                .iter()
                .position(|x| *x == c)
                .ok_or_else(|| QueryError::Syntax(s.to_owned(), "unclosed quote"))?;
            out.push(chars[i..=i + 1 + end].iter().collect());
            i += end + 2;
        } else if "()=,".contains(c) {
            out.push(c.to_string());
            i += 1;
        } else if "!<>".contains(c) {
            if chars.get(i + 1) == Some(&'=') {
                out.push(format!("{c}="));
                i += 2;
            } else {
                out.push(c.to_string());
                i += 1;
            }
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !"()=,!<>\"'".contains(chars[i]) {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        }
    }
    Ok(out)
}

impl Tokens {
    fn peek(&self) -> Option<&str> {
        self.items.get(self.at).map(String::as_str)
    }
    fn next(&mut self) -> Option<String> {
        let t = self.items.get(self.at).cloned();
        self.at += 1;
        t
    }
    fn expect(&mut self, want: &str, src: &str) -> Result<(), QueryError> {
        match self.next() {
            Some(t) if t.eq_ignore_ascii_case(want) => Ok(()),
            _ => Err(QueryError::Syntax(src.to_owned(), "unexpected token")),
        }
    }

    fn or(&mut self, src: &str) -> Result<Cond, QueryError> {
        self.chain(src, "or", Self::and, Cond::Or)
    }

    fn and(&mut self, src: &str) -> Result<Cond, QueryError> {
        self.chain(src, "and", Self::term, Cond::And)
    }

    /// `operand (keyword operand)*`, joined from the left: one precedence level.
    fn chain(
        &mut self,
        src: &str,
        keyword: &str,
        operand: fn(&mut Self, &str) -> Result<Cond, QueryError>,
        join: fn(Box<Cond>, Box<Cond>) -> Cond,
    ) -> Result<Cond, QueryError> {
        let mut left = operand(self, src)?;
        while self.peek().is_some_and(|t| t.eq_ignore_ascii_case(keyword)) {
            self.next();
            left = join(Box::new(left), Box::new(operand(self, src)?));
        }
        Ok(left)
    }

    fn term(&mut self, src: &str) -> Result<Cond, QueryError> {
        let bad = |why| QueryError::Syntax(src.to_owned(), why);
        let t = self.next().ok_or_else(|| bad("condition expected"))?;
        if t.eq_ignore_ascii_case("not") {
            return Ok(Cond::Not(Box::new(self.term(src)?)));
        }
        if t == "(" {
            let c = self.or(src)?;
            self.expect(")", src)?;
            return Ok(c);
        }
        if t.eq_ignore_ascii_case("ispresent") {
            self.expect("(", src)?;
            let field = self.next().ok_or_else(|| bad("field expected"))?;
            self.expect(")", src)?;
            return Ok(Cond::Present(field_key(&field).to_owned()));
        }
        let op = match self.next().as_deref() {
            Some("=") => Op::Eq,
            Some("!=") => Op::Ne,
            Some("<") => Op::Lt,
            Some(">") => Op::Gt,
            Some("<=") => Op::Le,
            Some(">=") => Op::Ge,
            Some(l) if l.eq_ignore_ascii_case("like") => Op::Like,
            _ => return Err(bad("comparison expected")),
        };
        let literal = self.next().ok_or_else(|| bad("value expected"))?;
        let value = if let Some(s) = literal
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .or_else(|| {
                literal
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
            }) {
            Value::String(s.to_owned())
        } else if let Ok(n) = literal.parse::<f64>() {
            serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
        } else {
            return Err(bad("a quoted string or a number expected"));
        };
        Ok(Cond::Compare(field_key(&t).to_owned(), op, value))
    }
}

impl Query {
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        let mut sources = Vec::new();
        let mut commands = Vec::new();
        for part in split_pipes(text) {
            let (head, rest) = part.split_once(char::is_whitespace).unwrap_or((&part, ""));
            let rest = rest.trim();
            match head.to_ascii_lowercase().as_str() {
                "source" => sources.push(rest.trim_matches(|c| c == '\'' || c == '"').to_owned()),
                "fields" | "display" => commands.push(Command::Fields(
                    rest.split(',')
                        .map(|f| f.trim().to_owned())
                        .filter(|f| !f.is_empty())
                        .collect(),
                )),
                "filter" => {
                    let mut t = Tokens {
                        items: tokenize(rest)?,
                        at: 0,
                    };
                    let cond = t.or(rest)?;
                    if t.peek().is_some() {
                        return Err(QueryError::Syntax(rest.to_owned(), "trailing tokens"));
                    }
                    commands.push(Command::Filter(cond));
                }
                "sort" => {
                    let mut words = rest.split_whitespace();
                    let field = words
                        .next()
                        .ok_or_else(|| QueryError::Syntax(part.clone(), "field expected"))?;
                    let desc = !words.next().is_some_and(|d| d.eq_ignore_ascii_case("asc"));
                    commands.push(Command::Sort(field.to_owned(), desc));
                }
                "limit" => commands.push(Command::Limit(
                    rest.parse::<usize>()
                        .map_err(|_| QueryError::Syntax(part.clone(), "a number expected"))?
                        .min(MAX_LIMIT),
                )),
                "stats" => {
                    let words: Vec<&str> = rest.split_whitespace().collect();
                    match words.as_slice() {
                        ["count()", as_kw, name, by_kw, by]
                            if as_kw.eq_ignore_ascii_case("as")
                                && by_kw.eq_ignore_ascii_case("by") =>
                        {
                            commands.push(Command::Count {
                                name: (*name).to_owned(),
                                by: (*by).to_owned(),
                            })
                        }
                        _ => return Err(QueryError::Unsupported(part.clone())),
                    }
                }
                _ => return Err(QueryError::Unsupported(part.clone())),
            }
        }
        Ok(Query { sources, commands })
    }

    /// The functions whose logs the query reads: the last segment of each `/aws/lambda/...`
    /// log group.
    pub fn functions(&self) -> Vec<String> {
        self.groups().into_iter().map(|(_, f)| f).collect()
    }

    /// Each log group the query reads (what `@log` holds) with its function.
    pub fn groups(&self) -> Vec<(String, String)> {
        self.sources
            .iter()
            .map(|s| (s.clone(), s.rsplit('/').next().unwrap_or(s).to_owned()))
            .collect()
    }

    /// Runs the query over `lines` (JSON objects, any order).
    pub fn run(&self, mut lines: Vec<Map<String, Value>>) -> Table {
        let mut columns: Option<Vec<String>> = None;
        let mut limit = DEFAULT_LIMIT;
        for c in &self.commands {
            match c {
                Command::Fields(f) => columns = Some(f.clone()),
                Command::Filter(cond) => lines.retain(|l| matches(cond, l)),
                Command::Sort(field, desc) => {
                    let key = field_key(field).to_owned();
                    lines.sort_by(|a, b| {
                        let o = compare(a.get(&key), b.get(&key));
                        if *desc { o.reverse() } else { o }
                    });
                }
                Command::Limit(n) => limit = *n,
                Command::Count { name, by } => {
                    let key = field_key(by).to_owned();
                    // Groups in order of first appearance; the index keeps it linear.
                    let mut counts: Vec<(Value, u64)> = Vec::new();
                    let mut index: std::collections::HashMap<String, usize> =
                        std::collections::HashMap::new();
                    for l in &lines {
                        let v = l.get(&key).cloned().unwrap_or(Value::Null);
                        let slot = *index.entry(v.to_string()).or_insert_with(|| {
                            counts.push((v, 0));
                            counts.len() - 1
                        });
                        counts[slot].1 += 1;
                    }
                    lines = counts
                        .into_iter()
                        .map(|(v, n)| {
                            let mut row = Map::new();
                            row.insert(by.clone(), v);
                            row.insert(name.clone(), Value::from(n));
                            row
                        })
                        .collect();
                    columns = Some(vec![by.clone(), name.clone()]);
                }
            }
        }
        lines.truncate(limit);
        let columns = columns.unwrap_or_else(|| vec!["@timestamp".into(), "@message".into()]);
        let rows = lines
            .iter()
            .map(|l| {
                columns
                    .iter()
                    .map(|c| {
                        let v = l.get(field_key(c)).or_else(|| l.get(c.as_str()));
                        (c.clone(), v.cloned().unwrap_or(Value::Null))
                    })
                    .collect()
            })
            .collect();
        Table { columns, rows }
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => match (as_number(a), as_number(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => a.to_string().cmp(&b.to_string()),
        },
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => Ordering::Equal,
    }
}

fn matches(cond: &Cond, line: &Map<String, Value>) -> bool {
    match cond {
        Cond::Present(f) => line.get(f).is_some_and(|v| !v.is_null()),
        Cond::Not(c) => !matches(c, line),
        Cond::And(a, b) => matches(a, line) && matches(b, line),
        Cond::Or(a, b) => matches(a, line) || matches(b, line),
        Cond::Compare(f, op, want) => {
            let Some(have) = line.get(f) else {
                return *op == Op::Ne;
            };
            if *op == Op::Like {
                let text = have
                    .as_str()
                    .map_or_else(|| have.to_string(), str::to_owned);
                return want.as_str().is_some_and(|w| text.contains(w));
            }
            let o = match (as_number(have), want) {
                (Some(x), Value::Number(y)) => x.total_cmp(&y.as_f64().unwrap_or(f64::NAN)),
                // A number against text that is not one: no comparison holds (as in Insights).
                (None, Value::Number(_)) => return false,
                _ => {
                    let text = have
                        .as_str()
                        .map_or_else(|| have.to_string(), str::to_owned);
                    text.as_str().cmp(want.as_str().unwrap_or_default())
                }
            };
            match op {
                Op::Eq => o == Ordering::Equal,
                Op::Ne => o != Ordering::Equal,
                Op::Lt => o == Ordering::Less,
                Op::Gt => o == Ordering::Greater,
                Op::Le => o != Ordering::Greater,
                Op::Ge => o != Ordering::Less,
                Op::Like => unreachable!("handled above"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lines() -> Vec<Map<String, Value>> {
        [
            json!({"timestamp": "2026-11-24T10:00:01Z", "level": "INFO", "function_name": "create-order", "cold_start": true, "order_id": "a"}),
            json!({"timestamp": "2026-11-24T10:00:02Z", "level": "ERROR", "function_name": "order-processor", "cold_start": false, "message": "boom"}),
            json!({"timestamp": "2026-11-24T10:00:03Z", "level": "WARN", "function_name": "order-processor", "cold_start": true}),
            json!({"timestamp": "2026-11-24T10:00:04Z", "level": "ERROR", "function_name": "order-processor", "cold_start": false, "order_id": "b"}),
        ]
        .into_iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect()
    }

    #[test]
    fn the_dashboards_queries_run() {
        let q = Query::parse("SOURCE '/aws/lambda/create-order' | SOURCE '/aws/lambda/order-processor' | fields @timestamp, function_name, level, message | filter level = \"ERROR\" or level = \"WARN\" | sort @timestamp desc | limit 2").unwrap();
        assert_eq!(q.functions(), ["create-order", "order-processor"]);
        let t = q.run(lines());
        assert_eq!(
            t.columns,
            ["@timestamp", "function_name", "level", "message"]
        );
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0]["@timestamp"], "2026-11-24T10:00:04Z");
        assert_eq!(t.rows[1]["level"], "WARN");

        // Cold starts as CloudWatch counts them: REPORTs with an init duration, per group;
        // the lines a cold invocation writes (cold_start: true) are not cold starts.
        let report = |group: &str, init: Option<f64>| {
            let mut l = json!({"timestamp": "2026-11-24T10:00:05Z", "type": "platform.report", "@log": group, "record.metrics.durationMs": 1.5});
            if let Some(ms) = init {
                l["record.metrics.initDurationMs"] = json!(ms);
            }
            l.as_object().unwrap().clone()
        };
        let mut with_reports = lines();
        with_reports.extend([
            report("/aws/lambda/create-order", Some(5.2)),
            report("/aws/lambda/create-order", None),
            report("/aws/lambda/order-processor", Some(6.0)),
            report("/aws/lambda/order-processor", Some(6.1)),
        ]);
        let t = Query::parse("filter type = \"platform.report\" and ispresent(record.metrics.initDurationMs) | stats count() as cold_starts by @log | sort cold_starts desc").unwrap().run(with_reports);
        assert_eq!(t.columns, ["@log", "cold_starts"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0]["@log"], "/aws/lambda/order-processor");
        assert_eq!(t.rows[0]["cold_starts"], 2);
        assert_eq!(t.rows[1]["cold_starts"], 1);

        let t =
            Query::parse("fields order_id | filter ispresent(order_id) and not level = \"INFO\"")
                .unwrap()
                .run(lines());
        assert_eq!(
            t.rows,
            vec![json!({"order_id": "b"}).as_object().unwrap().clone()]
        );

        let t = Query::parse("filter message like \"oo\" | fields message")
            .unwrap()
            .run(lines());
        assert_eq!(t.rows.len(), 1);
    }

    #[test]
    fn a_number_never_matches_text() {
        for q in ["filter level > 5", "filter level >= 0", "filter level != 5"] {
            assert!(Query::parse(q).unwrap().run(lines()).rows.is_empty(), "{q}");
        }
    }

    #[test]
    fn what_it_cannot_run_is_named() {
        let e = Query::parse("fields a | parse @message \"x *\" as y").unwrap_err();
        assert!(e.to_string().contains("unsupported command \"parse"), "{e}");
        let e = Query::parse("filter level = ").unwrap_err();
        assert!(e.to_string().contains("value expected"), "{e}");
        let e = Query::parse("stats avg(x) by y").unwrap_err();
        assert!(matches!(e, QueryError::Unsupported(_)));
    }
}
