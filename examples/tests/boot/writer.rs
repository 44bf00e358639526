//! What the change tests share: their client (one key after another written through the
//! running members, every acknowledged write remembered, so that the end of a change can read
//! them all back) and the options they plan with.

use std::ffi::OsString;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A thread writing `/w/<n>` through the endpoints it is given, every 100 ms.
pub struct Writer {
    stop: Arc<AtomicBool>,
    /// The endpoints the next write goes through (the running members; a test changes them as
    /// members join and leave).
    endpoints: Arc<Mutex<Vec<String>>>,
    acknowledged: Arc<Mutex<Vec<u64>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    /// Starts writing with `etcdctl` (the program and any leading arguments: `ip netns exec HUB
    /// etcdctl` for a booted cluster) through `endpoints`.
    pub fn start(etcdctl: Vec<OsString>, endpoints: Vec<String>) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let endpoints = Arc::new(Mutex::new(endpoints));
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let (s, e, a) = (stop.clone(), endpoints.clone(), acknowledged.clone());
        let thread = std::thread::spawn(move || {
            let (program, leading) = etcdctl.split_first().expect("a program");
            let mut i = 0u64;
            while !s.load(Ordering::Relaxed) {
                let list = e.lock().unwrap_or_else(|p| p.into_inner()).join(",");
                let ok = Command::new(program)
                    .args(leading)
                    .env_clear()
                    .env("ETCDCTL_API", "3")
                    .args([&format!("--endpoints={list}"), "--command-timeout=2s", "put", &format!("/w/{i:08}"), "x"])
                    .output()
                    .is_ok_and(|o| o.status.success());
                if ok {
                    a.lock().unwrap_or_else(|p| p.into_inner()).push(i);
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Writer { stop, endpoints, acknowledged, thread: Some(thread) }
    }

    /// Points the next writes at `endpoints`.
    pub fn write_through(&self, endpoints: Vec<String>) {
        *self.endpoints.lock().unwrap_or_else(|p| p.into_inner()) = endpoints;
    }

    /// Stops writing; the keys whose writes were acknowledged, by number.
    pub fn finish(mut self) -> Vec<u64> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        std::mem::take(&mut *self.acknowledged.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The acknowledged writes missing from `keys` (etcdctl's `get /w/ --prefix --keys-only`).
fn lost_writes(acknowledged: &[u64], keys: &str) -> Vec<u64> {
    let stored: std::collections::BTreeSet<u64> =
        keys.lines().filter_map(|l| l.strip_prefix("/w/")).filter_map(|n| n.parse().ok()).collect();
    acknowledged.iter().filter(|i| !stored.contains(i)).copied().collect()
}

/// Whether `write` succeeds when retried: for 20 s where the plan says quorum is kept (a new
/// leader may be elected first), for 6 s where it says it is lost (then no try should).
pub fn write_within(kept: bool, mut write: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + if kept { Duration::from_secs(20) } else { Duration::from_secs(6) };
    loop {
        if write() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Every write the client saw acknowledged is among `keys` (a read at the end of the change),
/// and it wrote throughout; says so.
pub fn assert_none_lost(tag: &str, steps: usize, acknowledged: &[u64], keys: &str) {
    let lost = lost_writes(acknowledged, keys);
    assert!(lost.is_empty(), "{tag}: acknowledged writes lost: {lost:?}");
    assert!(acknowledged.len() > 5, "{tag}: the client wrote throughout ({} writes)", acknowledged.len());
    println!("{tag}: {steps} steps, {} acknowledged writes, none lost", acknowledged.len());
}

/// The options the change tests plan with: a step whose domain loss would take quorum is
/// allowed, since the tests pull that plug and check the outcome.
pub fn allow_windows() -> clusterdef::change::ChangeOptions {
    clusterdef::change::ChangeOptions {
        dead: Vec::new(),
        allow: vec![(clusterdef::change::ChangeRule::DomainQuorum, "proven step by step".into())],
    }
}

/// The members a domain's plug takes midway through a join: the running voters in `loss`'s
/// domain, which must be as many as the plan says (`members_lost`), then the learner if it is
/// there. `voters` and `joiner` are (name, failure domain).
pub fn lost_midway<'a>(
    tag: &str,
    step: &clusterdef::change::Step,
    loss: &clusterdef::change::DomainOutcome,
    voters: impl Iterator<Item = (&'a str, Option<&'a str>)>,
    joiner: (&str, Option<&str>),
) -> Vec<String> {
    let in_domain = |d: Option<&str>| d == Some(loss.domain.as_str());
    let mut lost: Vec<String> = voters.filter(|(_, d)| in_domain(*d)).map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        lost.len() as u32,
        loss.members_lost,
        "{tag}: voters in {} midway through step {}",
        loss.domain,
        step.number
    );
    if in_domain(joiner.1) {
        lost.push(joiner.0.to_string());
    }
    lost
}
