//! Passwords and bearer tokens.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use flume::RecvTimeoutError;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::{AppError, AppResult};

/// Argon2id with OWASP's recommended minimum: 19 MiB, 2 iterations, 1 lane.
fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("static Argon2 parameters are valid")
}

/// Blocks reserved for Argon2's working memory: more than glibc's largest dynamic mmap threshold
/// (32 MiB on 64-bit), so the allocator maps it fresh and unmaps it when it is freed. Only the
/// blocks a hash uses are touched, so it costs 19 MiB while kept and nothing once freed. Below
/// that size glibc serves it from the thread's heap and keeps it after it is freed: two
/// hashing threads held 38 MiB for good, more than the whole server needs for 256 connections.
const RESERVED_BLOCKS: usize = 33 * 1024 * 1024 / std::mem::size_of::<Block>();

thread_local! {
    /// Argon2's working memory, kept by the thread that hashes for its next hash: fresh memory
    /// costs 7 ms of page faults a hash (45% more). Hashing threads give it back when idle.
    static WORKING_MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Gives this thread's Argon2 working memory back to the system.
fn release_working_memory() {
    WORKING_MEMORY.with_borrow_mut(|blocks| *blocks = Vec::new());
}

/// Whether this thread holds Argon2 working memory.
fn holds_working_memory() -> bool {
    WORKING_MEMORY.with_borrow(|blocks| blocks.capacity() > 0)
}

/// The raw Argon2 output of `password` with `salt` under `params`, computed in this thread's
/// working memory.
fn argon2_output(
    password: &[u8],
    salt: &[u8],
    algorithm: Algorithm,
    version: Version,
    params: Params,
) -> Option<Vec<u8>> {
    let mut output = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    let hasher = Argon2::new(algorithm, version, params);
    WORKING_MEMORY.with_borrow_mut(|blocks| {
        let needed = hasher.params().block_count();
        if blocks.len() != needed {
            *blocks = Vec::with_capacity(needed.max(RESERVED_BLOCKS));
            blocks.resize(needed, Block::default());
        }
        hasher.hash_password_into_with_memory(password, salt, &mut output, blocks).ok()
    })?;
    Some(output)
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
pub fn hash_password_now(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes).map_err(|_| AppError::Internal)?;
    let output = argon2_output(password.as_bytes(), raw_salt, Algorithm::Argon2id, Version::V0x13, params())
        .ok_or(AppError::Internal)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params()).map_err(|_| AppError::Internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&output).map_err(|_| AppError::Internal)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches a stored PHC string, compared in constant time.
fn matches(password: &str, stored: &str) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else { return false };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) =
        (Algorithm::try_from(phc.algorithm), Params::try_from(&phc), phc.salt, phc.hash)
    else {
        return false;
    };
    let version = phc.version.and_then(|v| Version::try_from(v).ok()).unwrap_or(Version::V0x13);
    let mut salt_bytes = [0u8; 64];
    let Ok(raw_salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    let Some(output) = argon2_output(password.as_bytes(), raw_salt, algorithm, version, params) else { return false };
    // `Output`'s equality is constant-time.
    Output::new(&output).is_ok_and(|output| output == expected)
}

/// A hash of a random password, verified against when the user does not exist, so an unknown
/// username costs the same work as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let mut random = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut random);
        hash_password_now(&URL_SAFE_NO_PAD.encode(random)).expect("hashing a random password works")
    })
}

/// How much password hashing may run at once. Argon2id takes 19 MiB and tens of milliseconds
/// of CPU per hash by design; without a ceiling a burst of logins or registrations takes the
/// process's memory with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingLimits {
    /// Hashes computed at the same time.
    pub concurrent: usize,
    /// Requests that may wait for a turn; past that they are told to come back later.
    pub queue: usize,
    /// How long a waiting request waits at most.
    pub wait: Duration,
    /// How long a hashing thread keeps its working memory after its last hash: a burst of
    /// logins reuses it, an idle server gives it back.
    pub keep_memory: Duration,
}

impl Default for HashingLimits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            concurrent: cores,
            queue: cores * 16,
            wait: Duration::from_secs(10),
            keep_memory: Duration::from_secs(2),
        }
    }
}

/// Hashes and verifies passwords on threads of its own, a bounded number at a time.
///
/// Its own threads, one per turn, rather than tokio's blocking pool: the pool grows to 512
/// threads under a burst, and every thread that ever hashed keeps its own heap (800
/// registrations at once once peaked at 600 MiB). A fixed set of threads keeps that bounded.
#[derive(Debug)]
pub struct Hasher {
    limits: HashingLimits,
    turns: Arc<Semaphore>,
    waiting: AtomicUsize,
    jobs: flume::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

/// A place in the hashing queue, given back when dropped.
struct InQueue<'a> {
    waiting: &'a AtomicUsize,
    /// How many were waiting before this one.
    ahead: usize,
}

impl<'a> InQueue<'a> {
    fn join(waiting: &'a AtomicUsize) -> Self {
        Self { waiting, ahead: waiting.fetch_add(1, Ordering::SeqCst) }
    }
}

impl Drop for InQueue<'_> {
    fn drop(&mut self) {
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Seconds a client is asked to wait when the queue is full.
const BUSY_RETRY_SECONDS: u64 = 2;

impl Hasher {
    pub fn new(limits: HashingLimits) -> Self {
        let threads = limits.concurrent.max(1);
        let (jobs, queue) = flume::unbounded::<Job>();
        for n in 0..threads {
            let queue = queue.clone();
            let keep_memory = limits.keep_memory;
            // The threads end when the hasher, and with it the sending side, is dropped.
            std::thread::Builder::new()
                .name(format!("password-hashing-{n}"))
                .spawn(move || loop {
                    let next = if holds_working_memory() {
                        queue.recv_timeout(keep_memory)
                    } else {
                        queue.recv().map_err(|_| RecvTimeoutError::Disconnected)
                    };
                    match next {
                        Ok(job) => job(),
                        Err(RecvTimeoutError::Timeout) => release_working_memory(),
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                })
                .expect("a hashing thread starts");
        }
        Self { limits, turns: Arc::new(Semaphore::new(threads)), waiting: AtomicUsize::new(0), jobs }
    }

    /// Runs `work` on a hashing thread when a turn is free; `Busy` when too many wait already.
    /// The turn goes with the work, not with the request: a client that hangs up does not
    /// free its turn while its hash is still being computed.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
        let busy = AppError::Busy { retry_after_seconds: BUSY_RETRY_SECONDS };
        let turn = match self.turns.clone().try_acquire_owned() {
            Ok(turn) => turn,
            Err(_) => {
                // Counted out on drop, so a client that hangs up while waiting leaves the queue.
                let place = InQueue::join(&self.waiting);
                if place.ahead >= self.limits.queue {
                    return Err(busy);
                }
                let turn = tokio::time::timeout(self.limits.wait, self.turns.clone().acquire_owned()).await;
                drop(place);
                match turn {
                    Ok(Ok(turn)) => turn,
                    _ => return Err(busy),
                }
            }
        };
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _turn = turn;
            // The caller may have hung up; the work still ran under its turn.
            let _ = done.send(work());
        });
        self.jobs.send(job).map_err(|_| AppError::Internal)?;
        result.await.map_err(|_| AppError::Internal)
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(&self, password: String) -> AppResult<String> {
        self.run(move || hash_password_now(&password)).await?
    }

    /// Verifies a password against a stored hash, or against the decoy when there is none, so
    /// an unknown user costs the same work as a wrong password.
    pub async fn verify(&self, password: String, stored: Option<String>) -> AppResult<bool> {
        self.run(move || {
            let known = stored.is_some();
            let hash = stored.unwrap_or_else(|| decoy_hash().to_owned());
            matches(&password, &hash) && known
        })
        .await
    }
}

/// A new bearer token: 256 random bits, base64url. Only its SHA-256 is stored.
pub fn new_token() -> (String, [u8; 32]) {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = URL_SAFE_NO_PAD.encode(secret);
    let hash = token_hash(&token);
    (token, hash)
}

/// SHA-256 suffices here: a token has 256 bits of entropy, so unlike a password it can't be
/// guessed from its hash.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether a string has the shape of a token this service issues: 32 bytes, base64url.
pub fn is_token_shaped(token: &str) -> bool {
    token.len() == 43 && URL_SAFE_NO_PAD.decode(token).is_ok_and(|bytes| bytes.len() == 32)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    fn hasher(concurrent: usize, queue: usize) -> Arc<Hasher> {
        Arc::new(Hasher::new(HashingLimits { concurrent, queue, ..HashingLimits::default() }))
    }

    /// Work that takes a while and notes how many copies of it ran at once.
    fn slow_work(running: Arc<AtomicUsize>, most: Arc<AtomicUsize>) -> impl FnOnce() + Send + 'static {
        move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(150));
            running.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn hashes_read_and_written_here_are_standard_argon2id_phc_strings() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash_password_now("correct horse").unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok(), "the library accepts ours");
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default().hash_password(b"battery staple", &salt).unwrap();
        assert!(matches("battery staple", &theirs.to_string()), "and we accept the library's");
        assert!(!matches("battery stable", &theirs.to_string()));
        assert!(!matches("correct horse", "not a hash"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_the_queue_callers_are_told_to_come_back_and_no_more_than_the_turns_run_at_once() {
        let hasher = hasher(2, 3);
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let calls = (0..12).map(|_| {
            let (hasher, running, most) = (hasher.clone(), running.clone(), most.clone());
            async move { hasher.run(slow_work(running, most)).await }
        });
        let results = futures::future::join_all(calls).await;
        let busy = results.iter().filter(|r| matches!(r, Err(AppError::Busy { retry_after_seconds: 2 }))).count();
        assert_eq!(busy, 12 - 2 - 3, "two run, three wait, the rest are refused at once");
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_that_hangs_up_leaves_the_queue_but_its_work_keeps_its_turn() {
        let hasher = hasher(1, 1);
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        // The first call is abandoned while its work runs, the second while it waits.
        let first =
            tokio::time::timeout(Duration::from_millis(20), hasher.run(slow_work(running.clone(), most.clone())));
        assert!(first.await.is_err(), "the caller gave up");
        let second =
            tokio::time::timeout(Duration::from_millis(20), hasher.run(slow_work(running.clone(), most.clone())));
        assert!(second.await.is_err(), "the caller gave up while queued");
        // Its place in the queue is free again, and the abandoned work still holds the turn.
        let third = hasher.run(slow_work(running.clone(), most.clone())).await;
        assert!(third.is_ok(), "{third:?}");
        assert_eq!(most.load(Ordering::SeqCst), 1, "never two at once, though the first caller hung up");
    }
}
