//! Argon2's working memory (19 MiB a hash) against the process's resident size. A test binary
//! of its own: no other test may allocate while these measure.

use std::time::Duration;

use carenest_app::passwords::{Hasher, HashingLimits};

fn resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux reports /proc/self/status");
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS is in kB");
    kib / 1024.0
}

#[tokio::test]
async fn a_hashing_thread_reuses_its_working_memory_through_a_burst_and_gives_it_back_when_idle() {
    let limits = HashingLimits { concurrent: 1, keep_memory: Duration::from_millis(300), ..HashingLimits::default() };
    let hasher = Hasher::new(limits);
    let before = resident_mib();
    // Twice: the allocator learns from the first memory it gives back (glibc raises its mmap
    // threshold), so the second round is the one that shows whether the memory really goes.
    for round in 1..=2 {
        for n in 0..5 {
            hasher.hash(format!("password {n}")).await.unwrap();
        }
        let during = resident_mib() - before;
        assert!(
            (15.0..25.0).contains(&during),
            "round {round}: five hashes hold one working memory, not {during:.1} MiB"
        );
        tokio::time::sleep(Duration::from_millis(900)).await;
        let after = resident_mib() - before;
        assert!(after < 4.0, "round {round}: idle, the hashing thread still holds {after:.1} MiB");
    }
}
