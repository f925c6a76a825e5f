//! Places widgets on CloudWatch's 24-column dashboard grid, left to right, wrapping to a new
//! row when a widget would not fit; sections start on a new row under a one-line heading.

use alarms::catalog::Target;
use serde_json::{Value, json};

use crate::widgets::Chart;

/// The dashboard grid's width in columns.
pub const COLUMNS: u32 = 24;

/// A dashboard body for `target` from its rows, in order; each row adds its section and
/// widgets.
pub fn body(target: Target, rows: &[fn(&mut Grid)]) -> Value {
    let mut g = Grid::new(target);
    for row in rows {
        row(&mut g);
    }
    g.into_body()
}

#[derive(Debug)]
pub struct Grid {
    /// Where the dashboard runs: every widget's region and names follow it.
    target: Target,
    widgets: Vec<Value>,
    x: u32,
    y: u32,
    /// Height of the tallest widget on the current row.
    row_height: u32,
}

impl Grid {
    pub fn new(target: Target) -> Self {
        Self {
            target,
            widgets: Vec::new(),
            x: 0,
            y: 0,
            row_height: 0,
        }
    }

    pub fn target(&self) -> Target {
        self.target
    }

    /// Adds a metric widget drawing `chart`.
    pub fn chart(&mut self, width: u32, height: u32, chart: Chart) {
        let properties = chart.properties(self.target);
        self.add("metric", width, height, properties);
    }

    fn new_row(&mut self) {
        if self.x > 0 {
            self.y += self.row_height;
        }
        self.x = 0;
        self.row_height = 0;
    }

    /// Adds a widget of `kind` ("metric", "text", "log", "alarm") with its properties.
    pub fn add(&mut self, kind: &str, width: u32, height: u32, properties: Value) {
        let width = width.clamp(1, COLUMNS);
        if self.x + width > COLUMNS {
            self.new_row();
        }
        self.widgets.push(json!({
            "type": kind,
            "x": self.x,
            "y": self.y,
            "width": width,
            "height": height,
            "properties": properties,
        }));
        self.x += width;
        self.row_height = self.row_height.max(height);
    }

    /// A widget that only AWS can feed (a Logs Insights query the local console does not
    /// run, over a log group only AWS has). Locally its place holds a note saying where to
    /// look instead, so both targets keep one layout.
    pub fn aws_only(
        &mut self,
        kind: &str,
        width: u32,
        height: u32,
        properties: Value,
        local_note: &str,
    ) {
        match self.target {
            Target::Aws => self.add(kind, width, height, properties),
            Target::Local => self.add("text", width, height, json!({ "markdown": local_note })),
        }
    }

    /// A full-width markdown heading starting a new row; `text` says what the row is for.
    pub fn section(&mut self, title: &str, text: &str) {
        self.new_row();
        let markdown = if text.is_empty() {
            format!("## {title}")
        } else {
            format!("## {title}\n{text}")
        };
        let height = if text.is_empty() { 1 } else { 2 };
        self.add("text", COLUMNS, height, json!({ "markdown": markdown }));
        self.new_row();
    }

    pub fn into_body(self) -> Value {
        json!({ "widgets": self.widgets })
    }
}
