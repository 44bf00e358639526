//! The test's client of a booted cluster's API: kubectl (the release's, built here) with the
//! administrator's kubeconfig `clusterdef pki` made, run in the network namespace that routes to
//! every machine, against one member's apiserver at a time (the kubeconfig's own server name
//! resolves only on the machines).

pub use crate::kubernetes::wait_for;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::tool;

/// kubectl against the cluster's apiservers.
pub struct Api {
    /// The routing namespace.
    pub hub: String,
    /// kubectl.
    pub kubectl: PathBuf,
    /// The administrator's kubeconfig.
    pub kubeconfig: PathBuf,
}

impl Api {
    /// Runs kubectl with `args` against the apiserver at `at`: what it printed, or why it failed.
    pub fn run(&self, at: &str, args: &[&str]) -> Result<String, String> {
        let out = Command::new(tool("ip"))
            .args(["netns", "exec", &self.hub])
            .arg(&self.kubectl)
            .arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .arg(format!("--server=https://{at}:6443"))
            .arg("--request-timeout=10s")
            .args(args)
            .output()
            .expect("run kubectl");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!("kubectl {}: {}{}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim(), stdout.trim()))
        }
    }

    /// A write through the apiserver at `at`: a ConfigMap of a name no other call uses (an
    /// earlier attempt that was written but not answered makes it exist already, which counts).
    pub fn write(&self, at: &str) -> Result<(), String> {
        self.write_named(at).map(drop)
    }

    /// [`Api::write`], answering with the ConfigMap's name once the write is acknowledged.
    pub fn write_named(&self, at: &str) -> Result<String, String> {
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("probe-{}-{n}", std::process::id());
        match self.run(at, &["create", "configmap", &name]) {
            Ok(_) => Ok(name),
            Err(e) if e.contains("AlreadyExists") => Ok(name),
            Err(e) => Err(e),
        }
    }

    /// `kubectl get … -o json`, parsed.
    pub fn get(&self, at: &str, args: &[&str]) -> Result<Value, String> {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        let text = self.run(at, &all)?;
        serde_json::from_str(&text).map_err(|e| format!("kubectl get {}: {e}", args.join(" ")))
    }
}
