//! A real `carenest serve` process for tests that need the whole binary: its sockets, its
//! configuration, its death by `kill -9`.

#![allow(dead_code)]

pub mod smtp;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const DEMO_PASSWORD: &str = "carenest-demo";

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub base: String,
    url: String,
    env: Vec<(String, String)>,
    demo: bool,
}

impl Server {
    /// Serves `url` on a free port with extra configuration `env`, and waits until it answers.
    pub async fn start(url: &str, env: &[(&str, &str)], demo: bool) -> Self {
        let port = free_port();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut server =
            Self { child: None, port, base: format!("http://127.0.0.1:{port}"), url: url.to_owned(), env, demo };
        server.spawn();
        server.wait_until_up().await;
        server
    }

    fn spawn(&mut self) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_carenest"));
        command.args(["serve", "--bind", &format!("127.0.0.1:{}", self.port)]);
        if self.demo {
            command.arg("--demo");
        }
        command
            .env_remove("CARENEST_ENV")
            .env("DATABASE_URL", &self.url)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        self.child = Some(command.spawn().expect("the binary runs"));
    }

    /// Waits until `/healthz` answers (the process is up; the database may not be).
    pub async fn wait_until_up(&self) {
        let started = Instant::now();
        let client = reqwest::Client::new();
        loop {
            if let Ok(answer) = client.get(format!("{}/healthz", self.base)).send().await {
                if answer.status() == 200 {
                    return;
                }
            }
            assert!(started.elapsed() < Duration::from_secs(60), "the server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Kills the process without warning, as a power cut or the OOM killer would.
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL is delivered");
            child.wait().unwrap();
        }
    }

    /// Starts the process again on the same port and database.
    pub async fn restart(&mut self) {
        self.kill_hard();
        self.spawn();
        self.wait_until_up().await;
    }

    /// The most memory the process has held at once, in KiB (Linux's `VmHWM`).
    pub fn peak_memory_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("/proc is readable");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM is reported")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// Logs in and returns the token.
pub async fn login(client: &reqwest::Client, server: &Server, username: &str, password: &str) -> String {
    let answer = client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
    answer.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

/// Creates a user with the command line, as an operator would.
pub fn create_user(url: &str, username: &str, role: &str, password: &str) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_carenest"))
        .args(["user", "create", "--username", username, "--email", &format!("{username}@example.org")])
        .args(["--role", role, "--password-stdin"])
        .env_remove("CARENEST_ENV")
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// Applies the migrations to a fresh database.
pub fn setup(url: &str) {
    let output = Command::new(env!("CARGO_BIN_EXE_carenest"))
        .args(["db", "setup"])
        .env_remove("CARENEST_ENV")
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
