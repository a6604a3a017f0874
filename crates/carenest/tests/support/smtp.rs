//! A small SMTP server for tests: it keeps every message it accepted, and can be told to turn
//! senders away (421, as a server going down does) or to stall after a message's data, never
//! answering, as a server or network that hangs mid-send does. A message counts as delivered
//! only once the sink has answered 250 to its data.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// `421` at once: try again later.
    TurnAway,
    /// Reads a message's data and never answers.
    Stall,
}

struct State {
    mode: Mode,
    delivered: Vec<String>,
    /// Messages whose data arrived while stalling, never acknowledged.
    stalled: usize,
}

pub struct SmtpSink {
    pub port: u16,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State { mode: Mode::Accept, delivered: Vec::new(), stalled: 0 }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(converse(stream, shared.clone()));
            }
        });
        Self { port, state, task }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    /// Every message accepted so far, as sent (headers and body).
    pub fn delivered(&self) -> Vec<String> {
        self.state.lock().unwrap().delivered.clone()
    }

    pub fn stalled(&self) -> usize {
        self.state.lock().unwrap().stalled
    }

    /// Waits until `count` messages have been accepted (panics after `within`).
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<String> {
        let started = Instant::now();
        loop {
            let delivered = self.delivered();
            if delivered.len() >= count {
                return delivered;
            }
            assert!(started.elapsed() < within, "{} of {count} messages arrived in {within:?}", delivered.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until a message's data has arrived while stalling.
    pub async fn wait_for_stall(&self, within: Duration) {
        let started = Instant::now();
        while self.stalled() == 0 {
            assert!(started.elapsed() < within, "no message reached the stalled sink in {within:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn converse(stream: TcpStream, state: Arc<Mutex<State>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mode = state.lock().unwrap().mode;
    if mode == Mode::TurnAway {
        let _ = write.write_all(b"421 sink closing for a while\r\n").await;
        return;
    }
    if write.write_all(b"220 sink ESMTP\r\n").await.is_err() {
        return;
    }
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_ascii_uppercase();
        let answer: &[u8] = if command.starts_with("EHLO") {
            b"250-sink\r\n250 8BITMIME\r\n"
        } else if command.starts_with("DATA") {
            let _ = write.write_all(b"354 end with a dot\r\n").await;
            let mut message = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                message.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            let mode = state.lock().unwrap().mode;
            if mode == Mode::Stall {
                state.lock().unwrap().stalled += 1;
                std::future::pending::<()>().await;
            }
            state.lock().unwrap().delivered.push(message);
            b"250 queued\r\n"
        } else if command.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 ok\r\n"
        };
        if write.write_all(answer).await.is_err() {
            return;
        }
    }
}

/// A message's text with quoted-printable soft line breaks and `=3D` undone, for reading.
pub fn readable(message: &str) -> String {
    message.replace("=\r\n", "").replace("=3D", "=")
}

/// The `Message-ID` header's value.
pub fn message_id(message: &str) -> String {
    message
        .lines()
        .find_map(|line| line.strip_prefix("Message-ID: "))
        .unwrap_or_else(|| panic!("no Message-ID in {message}"))
        .trim()
        .to_owned()
}
