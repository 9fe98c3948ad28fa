//! Helpers shared by the store's integration tests: temporary directories and a deterministic generator.
#![allow(dead_code)]

use std::path::PathBuf;

pub const DAY: i64 = 24 * 3600 * 1000;
pub const NOW: i64 = 1_795_355_931_000; // 2026-11-22T13:58:51Z

pub struct Dir(pub PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn temp_dir(name: &str) -> Dir {
    let d = std::env::temp_dir().join(format!("cairn-history-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    Dir(d)
}

/// A small deterministic generator (xorshift), so failures reproduce.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
