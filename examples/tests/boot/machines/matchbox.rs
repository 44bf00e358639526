//! A cluster that boots from matchbox (`boot_server: matchbox "…"`), booted as the docs tell its
//! operator: the render written to a directory, real matchbox (v0.11.0, built by the test
//! script) run on its `matchbox/` data directory at the declared URL, and each machine's
//! first-boot config fetched from it over HTTP the way the machine's firmware, iPXE and
//! installer fetch it: the boot script the network's rendered dnsmasq snippet hands the
//! machine's MAC address, that script's chain to `/ipxe`, the kernel line's
//! `ignition.config.url` with iPXE's variables replaced, and for a machine installed to disk the
//! installer's own request for the machine's config. What matchbox serves is what the machine
//! is installed from (upstream Ignition applies it: matchbox serves spec 3.4.0).
//!
//! Emulated (docs/rendering.md says so): DHCP's answer (the rendered dnsmasq snippet is read,
//! not run: no firmware here speaks PXE), iPXE's variable expansion, and `flatcar-install` (the
//! installer's request is made, and the config it fetches becomes the disk's first boot).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{TempDir, target_dir, tool};

/// A running matchbox, stopped when dropped.
pub struct Matchbox {
    child: Child,
    hub: String,
    base: String,
    _render: TempDir,
    /// The render's dnsmasq snippets: (network, netmask) with their text.
    snippets: Vec<(String, String)>,
    /// How many renders it has served, which names each one's directory.
    served: usize,
}

impl Drop for Matchbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Matchbox {
    /// Writes `artifacts` into a directory of the test's, gives the hub (the site's router) the
    /// address of `base` on the segment `bridge` whose prefix is `prefix`, and runs matchbox
    /// there on the render's data directory, as docs/rendering.md says to run it.
    pub fn start(
        tag: &str,
        hub: &str,
        base: &str,
        bridge: &str,
        prefix: u8,
        artifacts: &clusterdef::Artifacts,
    ) -> Matchbox {
        let host_port = base.strip_prefix("http://").expect("an http:// URL").trim_end_matches('/');
        let host = host_port.split(':').next().expect("a host");
        let out = Command::new(tool("ip"))
            .args(["-n", hub, "addr", "add", &format!("{host}/{prefix}"), "dev", bridge])
            .output()
            .expect("run ip");
        assert!(out.status.success(), "the hub takes matchbox's address: {}", String::from_utf8_lossy(&out.stderr));
        let (child, render, snippets) = run_on(tag, 0, hub, host_port, artifacts);
        let matchbox = Matchbox {
            child,
            hub: hub.to_string(),
            base: base.trim_end_matches('/').to_string(),
            _render: render,
            snippets,
            served: 1,
        };
        matchbox.wait_answering();
        matchbox
    }

    /// Serves `artifacts` (another render) instead, as the docs tell an operator to: its
    /// `matchbox/` in place of the whole data directory, its dnsmasq snippets on their networks.
    pub fn serve(&mut self, tag: &str, artifacts: &clusterdef::Artifacts) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let host_port = self.base.trim_start_matches("http://").to_string();
        let (child, render, snippets) = run_on(tag, self.served, &self.hub, &host_port, artifacts);
        (self.child, self._render, self.snippets) = (child, render, snippets);
        self.served += 1;
        self.wait_answering();
    }

    /// Whether matchbox answers the boot request of the machine with `mac` at `stage` (its
    /// groups match it), or answers 404 (none does).
    pub fn answers_mac(&self, mac: &str, stage: &str) -> bool {
        let (status, body) = self.get(&format!("{}/ipxe?mac={mac}&stage={stage}", self.base));
        assert!(status == 200 || status == 404, "matchbox answered {status} for {mac}: {body}");
        status == 200
    }

    fn wait_answering(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.get(&format!("{}/", self.base)).1 != "matchbox\n" {
            assert!(Instant::now() < deadline, "matchbox did not answer at {}", self.base);
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A GET from the hub: the status and the body.
    fn get(&self, url: &str) -> (u16, String) {
        let out = Command::new(tool("ip"))
            .args([
                "netns",
                "exec",
                &self.hub,
                "curl",
                "-sS",
                "--max-time",
                "10",
                "-o",
                "-",
                "-w",
                "\n%{http_code}",
                url,
            ])
            .output()
            .expect("run curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (status.trim().parse().unwrap_or(0), body.to_string())
    }

    /// A GET that must answer 200: the body.
    fn fetch(&self, url: &str, who: &str) -> String {
        let (status, body) = self.get(url);
        assert_eq!(status, 200, "{who}: GET {url} answered {status}: {body}");
        body
    }

    /// The first-boot config of the machine with `mac` on `network` (its segment's subnet, as
    /// `a.b.c.d/p`), as its boot over the network fetches it from matchbox. Fails when the
    /// network hands the MAC no script, or matchbox answers any request with anything but a
    /// config.
    pub fn first_boot_config(&self, who: &str, mac: &str, network: &str) -> String {
        let script_url = self.script_for(who, mac, network);
        let script = self.fetch(&script_url, who);
        let chain = script.lines().find_map(|l| l.strip_prefix("chain ")).unwrap_or_else(|| panic!("{who}: {script}"));
        let ipxe = self.fetch(&expand(chain, mac, who), who);
        let kernel = ipxe.lines().find_map(|l| l.strip_prefix("kernel ")).unwrap_or_else(|| panic!("{who}: {ipxe}"));
        let url = kernel
            .split(' ')
            .find_map(|a| a.strip_prefix("ignition.config.url="))
            .unwrap_or_else(|| panic!("{who}: the kernel line names no config: {kernel}"));
        let config = self.fetch(&expand(url, mac, who), who);
        // Read as Ignition reads it: matchbox answers 200 with an empty version for a config it
        // could not parse, which no Ignition reads.
        let read =
            |text: &str| clusterdef::read::ignition::parse(text).unwrap_or_else(|e| panic!("{who}: {e}: {text}"));
        let served = read(&config);
        if !served.units.iter().any(|u| u.name == "clusterdef-install.service") {
            return config;
        }
        // The installer: what its script fetches is what flatcar-install writes to the disk.
        let script =
            served.files.iter().find(|f| f.path == "/opt/clusterdef-install").and_then(|f| match &f.contents {
                Some(clusterdef::read::ignition::Contents::Data(bytes)) => {
                    Some(String::from_utf8_lossy(bytes).into_owned())
                }
                _ => None,
            });
        let script = script.unwrap_or_else(|| panic!("{who}: the installer has no script"));
        let url = script.split('\'').nth(1).unwrap_or_else(|| panic!("{who}: the installer fetches nothing: {script}"));
        let installed = self.fetch(url, who);
        read(&installed);
        installed
    }

    /// The boot script the rendered dnsmasq snippet of `network` hands iPXE for `mac`: the one
    /// of the tag its `dhcp-host` line sets, else the one for machines not listed.
    fn script_for(&self, who: &str, mac: &str, network: &str) -> String {
        let (net, prefix) = network.split_once('/').expect("a.b.c.d/p");
        let mask = std::net::Ipv4Addr::from(u32::MAX << (32 - prefix.parse::<u32>().expect("a prefix")));
        let range = format!("dhcp-range={net},proxy,{mask}");
        let text = self
            .snippets
            .iter()
            .find(|(_, text)| text.lines().any(|l| l == range))
            .map(|(_, text)| text)
            .unwrap_or_else(|| panic!("{who}: no dnsmasq snippet answers on {network}"));
        let tags: BTreeMap<&str, &str> =
            text.lines().filter_map(|l| l.strip_prefix("dhcp-host=")).filter_map(|l| l.split_once(",set:")).collect();
        let tag = tags.get(mac).map(|t| format!("tag:{t}"));
        let boot = text.lines().filter_map(|l| l.strip_prefix("dhcp-boot=tag:ipxe,"));
        let url = boot
            .filter_map(|rest| match rest.split_once(',') {
                Some((t, url)) if t.starts_with("tag:") => {
                    let wanted = match &tag {
                        Some(tag) => t == tag,
                        None => t == "tag:!known",
                    };
                    wanted.then_some(url)
                }
                _ => tag.is_none().then_some(rest),
            })
            .next();
        url.unwrap_or_else(|| panic!("{who}: the snippet for {network} hands {mac} no script:\n{text}")).to_string()
    }
}

/// `url` with iPXE's variables replaced as iPXE replaces them for the machine with `mac`; any
/// other `${…}` fails (iPXE would leave it empty, and the request would not be the planned one).
fn expand(url: &str, mac: &str, who: &str) -> String {
    let out =
        url.replace("${mac:hexhyp}", &mac.replace(':', "-")).replace("${uuid}", "4c4c4544-0042-3010-8053-b3c04f4b4d31");
    assert!(!out.contains("${"), "{who}: an iPXE variable is left in {out}");
    out
}

/// Writes `artifacts` into a directory of the test's (the `served`-th) and runs matchbox from
/// the hub at `host_port` on its data directory, as docs/rendering.md says to run it: the
/// process, the directory and the render's dnsmasq snippets.
fn run_on(
    tag: &str,
    served: usize,
    hub: &str,
    host_port: &str,
    artifacts: &clusterdef::Artifacts,
) -> (Child, TempDir, Vec<(String, String)>) {
    let render = TempDir::new(&format!("boot-{tag}-matchbox-{served}"));
    artifacts.write_to(render.path()).expect("the render is written");
    let binary = target_dir().join("test-engines/matchbox-0.11.0/matchbox");
    assert!(binary.is_file(), "{} is not installed; run `bash scripts/install-test-deps.sh`", binary.display());
    let data = render.path().join("matchbox");
    let child = Command::new(tool("ip"))
        .args(["netns", "exec", hub])
        .arg(&binary)
        .arg(format!("-address={host_port}"))
        .arg(format!("-data-path={}", data.display()))
        .arg(format!("-assets-path={}", data.join("assets").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run matchbox");
    let snippets = snippets(render.path());
    (child, render, snippets)
}

/// Every rendered dnsmasq snippet under `dir`'s `pxe/`.
fn snippets(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.join("pxe")];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.file_name().is_some_and(|n| n == "dnsmasq.conf") {
                out.push((path.display().to_string(), std::fs::read_to_string(&path).expect("a snippet")));
            }
        }
    }
    out
}

/// The MAC address of each machine the bed boots, by name: a machine matchbox installs has its
/// group's `macs` entry; a PXE machine an inventory lists, its entry (the k-th machine of a
/// domain the k-th entry of that domain); any other (an autoscaled pool's) one of the bed's
/// own, which no declaration lists, as a new machine's NIC has.
pub fn macs_of(cluster: &clusterdef::Cluster, names: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (_, machine, mac) in clusterdef::render::matchbox::installed_machines(cluster) {
        out.insert(machine.hostname, mac);
    }
    for placed in cluster.placed_groups() {
        if placed.group.inventory.is_empty() {
            continue;
        }
        let mut seen: BTreeMap<Option<usize>, usize> = BTreeMap::new();
        for machine in &placed.machines {
            let k = seen.entry(machine.domain).or_default();
            let domain = machine.domain.and_then(|d| placed.group.spread.as_ref()?.domains.get(d)).map(|d| &*d.name);
            let entry = placed.group.inventory.iter().filter(|e| e.domain.as_deref() == domain).nth(*k);
            if let Some(entry) = entry {
                out.insert(machine.hostname.clone(), clusterdef::normalised_mac(&entry.mac));
            }
            *k += 1;
        }
    }
    for (n, name) in names.iter().filter(|n| !out.contains_key(*n)).cloned().collect::<Vec<_>>().into_iter().enumerate()
    {
        out.insert(name, clusterdef::normalised_mac(&clusterdef::synthetic::mac(0xfe, n as u32)));
    }
    out
}
