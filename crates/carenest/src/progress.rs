//! Progress for long jobs: a bar on a terminal, plain lines elsewhere (CI logs, pipes).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    label: &'static str,
    bar: Option<ProgressBar>,
    total: u64,
    done: AtomicU64,
}

impl Progress {
    pub fn new(label: &'static str, total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(label);
            bar
        });
        Self { label, bar, total, done: AtomicU64::new(0) }
    }

    pub fn step(&self, what: &str) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        match &self.bar {
            Some(bar) => {
                bar.set_message(what.to_owned());
                bar.inc(1);
            }
            None => eprintln!("{}: {done}/{} {what}", self.label, self.total),
        }
    }

    /// Rows done of one table: the bar follows every page, plain output a line per table.
    pub fn rows(&self, table: &str, done: u64, total: u64) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(total);
                bar.set_position(done);
                bar.set_message(table.to_owned());
                if done == total {
                    bar.println(format!("{}: {table} {done} rows", self.label));
                }
            }
            None if done == total => eprintln!("{}: {table} {done} rows", self.label),
            None => {}
        }
    }

    /// Work done so far of the total: the bar follows it, plain output a line per tenth.
    pub fn at(&self, done: u64, what: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(done);
                bar.set_message(what.to_owned());
            }
            None => {
                let tenth = (done * 10).checked_div(self.total).unwrap_or(10);
                if self.done.fetch_max(tenth, Ordering::Relaxed) < tenth {
                    eprintln!("{}: {done}/{} {what}", self.label, self.total);
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
