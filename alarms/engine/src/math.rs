//! The subset of CloudWatch metric math the kit's alarms use: `+ - * /`, parentheses, numbers,
//! query ids, comparisons (`> < >= <= == !=`, yielding 1 or 0), `AND`/`&&`, `OR`/`||`,
//! `IF(cond, a[, b])`, `FILL(series, value)` and `ABS(x)`.
//!
//! Evaluation is pointwise per period. A missing input makes the result missing (CloudWatch
//! drops the timestamp), except where FILL supplies a value; a non-finite result (division by
//! zero) is missing too, which is why rate alarms guard the denominator with IF.

use std::collections::BTreeSet;

use crate::error::{AlarmError, Result};
use crate::names::Names;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Gt,
    Lt,
    Ge,
    Le,
    Eq,
    Ne,
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(f64),
    Id(String),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    If(Box<Expr>, Box<Expr>, Option<Box<Expr>>),
    Fill(Box<Expr>, Box<Expr>),
    Abs(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Func(String),
    LParen,
    RParen,
    Comma,
    Op(BinOp),
    Minus,
}

fn tokenize(src: &str) -> Result<Vec<(usize, Tok)>> {
    let err = |position: usize, message: &str| AlarmError::parse(src, position, message);
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || c == '.' {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            // Exponent, e.g. 1e3.
            if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
                let mut j = i + 1;
                if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
                    j += 1;
                }
                if j < bytes.len() && bytes[j].is_ascii_digit() {
                    i = j;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let n = src[start..i]
                .parse::<f64>()
                .map_err(|_| err(start, "invalid number"))?;
            out.push((start, Tok::Num(n)));
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &src[start..i];
            let tok = match word {
                "AND" => Tok::Op(BinOp::And),
                "OR" => Tok::Op(BinOp::Or),
                // Ids start lowercase; upper-case words are functions.
                w if w.starts_with(|c: char| c.is_ascii_lowercase()) => Tok::Ident(w.to_string()),
                w => Tok::Func(w.to_string()),
            };
            out.push((start, tok));
            continue;
        }
        let two = src.get(i..i + 2).unwrap_or("");
        let (tok, len) = match two {
            ">=" => (Tok::Op(BinOp::Ge), 2),
            "<=" => (Tok::Op(BinOp::Le), 2),
            "==" => (Tok::Op(BinOp::Eq), 2),
            "!=" => (Tok::Op(BinOp::Ne), 2),
            "&&" => (Tok::Op(BinOp::And), 2),
            "||" => (Tok::Op(BinOp::Or), 2),
            _ => match c {
                '+' => (Tok::Op(BinOp::Add), 1),
                '-' => (Tok::Minus, 1),
                '*' => (Tok::Op(BinOp::Mul), 1),
                '/' => (Tok::Op(BinOp::Div), 1),
                '>' => (Tok::Op(BinOp::Gt), 1),
                '<' => (Tok::Op(BinOp::Lt), 1),
                '(' => (Tok::LParen, 1),
                ')' => (Tok::RParen, 1),
                ',' => (Tok::Comma, 1),
                _ => return Err(err(start, &format!("unexpected character {c:?}"))),
            },
        };
        out.push((start, tok));
        i += len;
    }
    Ok(out)
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<(usize, Tok)>,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> AlarmError {
        let position = self.toks.get(self.pos).map_or(self.src.len(), |(p, _)| *p);
        AlarmError::parse(self.src, position, message)
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        t
    }

    fn expect(&mut self, want: &Tok, what: &str) -> Result<()> {
        if self.peek() == Some(want) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected {what}")))
        }
    }

    /// Binding power per operator: OR < AND < comparisons < + - < * /.
    fn power(op: BinOp) -> u8 {
        match op {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Gt | BinOp::Lt | BinOp::Ge | BinOp::Le | BinOp::Eq | BinOp::Ne => 3,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul | BinOp::Div => 5,
        }
    }

    fn expr(&mut self, min_power: u8) -> Result<Expr> {
        let mut lhs = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op(op)) => *op,
                Some(Tok::Minus) => BinOp::Sub,
                _ => break,
            };
            let p = Self::power(op);
            if p < min_power {
                break;
            }
            self.pos += 1;
            // Left associative: the right side binds strictly tighter.
            let rhs = self.expr(p + 1)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr> {
        if self.peek() == Some(&Tok::Minus) {
            self.pos += 1;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr> {
        match self.next() {
            Some(Tok::Num(n)) => Ok(Expr::Number(n)),
            Some(Tok::Ident(id)) => Ok(Expr::Id(id)),
            Some(Tok::LParen) => {
                let e = self.expr(0)?;
                self.expect(&Tok::RParen, "')'")?;
                Ok(e)
            }
            Some(Tok::Func(name)) => {
                let at = self.toks.get(self.pos - 1).map_or(0, |(p, _)| *p);
                self.expect(&Tok::LParen, "'(' after function name")?;
                let mut args = vec![self.expr(0)?];
                while self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                    args.push(self.expr(0)?);
                }
                self.expect(&Tok::RParen, "')'")?;
                let arity = |message: &str| AlarmError::parse(self.src, at, message);
                let mut args = args.into_iter().map(Box::new);
                let mut arg = || args.next();
                match (name.as_str(), arg(), arg(), arg(), arg()) {
                    ("IF", Some(c), Some(a), b, None) => Ok(Expr::If(c, a, b)),
                    ("IF", ..) => Err(arity("IF takes 2 or 3 arguments")),
                    ("FILL", Some(s), Some(v), None, None) => Ok(Expr::Fill(s, v)),
                    ("FILL", ..) => Err(arity("FILL takes 2 arguments")),
                    ("ABS", Some(x), None, None, None) => Ok(Expr::Abs(x)),
                    ("ABS", ..) => Err(arity("ABS takes 1 argument")),
                    _ => Err(arity(&format!("unsupported function {name}"))),
                }
            }
            Some(_) => {
                self.pos -= 1;
                Err(self.err("expected a number, an id, a function or '('"))
            }
            None => Err(self.err("unexpected end of expression")),
        }
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn truth(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

impl Names for Expr {
    fn collect(&self, out: &mut BTreeSet<String>) {
        match self {
            Expr::Number(_) => {}
            Expr::Id(id) => {
                out.insert(id.clone());
            }
            Expr::Neg(e) | Expr::Abs(e) => e.collect(out),
            Expr::Binary(_, a, b) | Expr::Fill(a, b) => {
                a.collect(out);
                b.collect(out);
            }
            Expr::If(c, a, b) => {
                c.collect(out);
                a.collect(out);
                if let Some(b) = b {
                    b.collect(out);
                }
            }
        }
    }
}

impl Expr {
    pub fn parse(src: &str) -> Result<Expr> {
        let toks = tokenize(src)?;
        let mut p = Parser { src, toks, pos: 0 };
        let e = p.expr(0)?;
        if p.pos < p.toks.len() {
            return Err(p.err("unexpected token after expression"));
        }
        Ok(e)
    }

    /// The query ids the expression reads.
    pub fn references(&self) -> BTreeSet<String> {
        self.names()
    }

    /// Value at one timestamp; `lookup` gives each id's value there (None = missing).
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Result<Option<f64>>) -> Result<Option<f64>> {
        Ok(match self {
            Expr::Number(n) => Some(*n),
            Expr::Id(id) => lookup(id)?,
            Expr::Neg(e) => e.eval(lookup)?.map(|v| -v),
            Expr::Abs(e) => e.eval(lookup)?.map(f64::abs),
            Expr::Fill(s, v) => match s.eval(lookup)? {
                Some(x) => Some(x),
                None => v.eval(lookup)?,
            },
            Expr::If(c, a, b) => match c.eval(lookup)? {
                None => None,
                Some(c) if c != 0.0 => a.eval(lookup)?,
                Some(_) => match b {
                    Some(b) => b.eval(lookup)?,
                    // CloudWatch: IF without a false branch leaves the timestamp empty.
                    None => None,
                },
            },
            Expr::Binary(op, a, b) => {
                let (Some(x), Some(y)) = (a.eval(lookup)?, b.eval(lookup)?) else {
                    return Ok(None);
                };
                match op {
                    BinOp::Add => finite(x + y),
                    BinOp::Sub => finite(x - y),
                    BinOp::Mul => finite(x * y),
                    BinOp::Div => finite(x / y),
                    BinOp::Gt => Some(truth(x > y)),
                    BinOp::Lt => Some(truth(x < y)),
                    BinOp::Ge => Some(truth(x >= y)),
                    BinOp::Le => Some(truth(x <= y)),
                    BinOp::Eq => Some(truth(x == y)),
                    BinOp::Ne => Some(truth(x != y)),
                    BinOp::And => Some(truth(x != 0.0 && y != 0.0)),
                    BinOp::Or => Some(truth(x != 0.0 || y != 0.0)),
                }
            }
        })
    }
}
