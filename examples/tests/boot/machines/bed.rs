//! The bed: a cluster's machines installed on their network segments (a hub routing between
//! them, DHCP where a machine has no static address), each with its share of the PKI.

use super::*;

/// The cluster as the boot test bed runs it: each workload unit a mark under `/run/marks` (its
/// name, placement and `[Install]` handling kept), and a host `.mount` of a block device a tmpfs
/// at the same place (no container has the disk).
pub fn bootable(cluster: &Cluster) -> Cluster {
    let mut out = cluster.clone();
    let mark = |name: &str| {
        UnitBody::Inline(
            format!("[Unit]\nDescription={name}, as the boot tests run it\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c 'mkdir -p /run/marks && echo %n >/run/marks/%n'\n").into(),
        )
    };
    out.units = cluster.units.iter().map(|u| clusterdef::Unit { body: mark(&u.name), ..u.clone() }).collect();
    let tmpfs = |host: &clusterdef::HostConfig| {
        let mut host = host.clone();
        host.units = host
            .units
            .iter()
            .map(|u| {
                let mut u = u.clone();
                if let Some(text) = u.body.as_ref().map(UnitBody::text).filter(|t| t.contains("What=/dev/"))
                    && u.name.ends_with(".mount")
                {
                    let body: String = text
                        .lines()
                        .map(|l| match l.split_once('=') {
                            Some(("What", _)) => "What=tmpfs".to_string(),
                            Some(("Type", _)) => "Type=tmpfs".to_string(),
                            _ => l.to_string(),
                        })
                        .map(|l| l + "\n")
                        .collect();
                    u.body = Some(UnitBody::Inline(body.into()));
                }
                u
            })
            .collect();
        host
    };
    out.host = tmpfs(&cluster.host);
    out.members.host = tmpfs(&cluster.members.host);
    out.pools = cluster.pools.iter().map(|p| clusterdef::Group { host: tmpfs(&p.host), ..p.clone() }).collect();
    out
}

/// A machine of the bed: its hostname, the path of the config it boots from, its failure domain.
pub type BedMachine = (String, String, Option<String>);

/// A booted cluster: its network and machines, by hostname.
pub struct Booted {
    /// The plan of the cluster booted.
    pub plan: Plan,
    /// The machines, by hostname.
    pub machines: BTreeMap<String, Machine>,
    _pki: Option<TempDir>,
    /// The DHCP server of the machines without a static address (dnsmasq on the hub).
    dhcp: Option<(Child, TempDir)>,
    /// The matchbox the machines boot from, when the cluster boots from matchbox.
    _matchbox: Option<super::matchbox::Matchbox>,
    /// Each machine's MAC address and network (`a.b.c.d/p`) when it boots from matchbox.
    booted_from_matchbox: BTreeMap<String, (String, String)>,
    _lan: Lan,
}

impl Drop for Booted {
    fn drop(&mut self) {
        self.machines.clear();
        if let Some((mut dnsmasq, _)) = self.dhcp.take() {
            let _ = dnsmasq.kill();
            let _ = dnsmasq.wait();
        }
    }
}

impl Booted {
    /// Renders `cluster` (which must give every machine a config of its own and a static
    /// address), installs each machine, and boots them all.
    pub fn boot(tag: &str, cluster: &Cluster) -> Booted {
        let artifacts = cluster.render().expect("the cluster renders");
        let mut booted = Booted::install(tag, cluster, &artifacts);
        booted.start_all(Duration::from_secs(120));
        booted
    }

    /// Boots every machine, and waits until each has finished booting.
    pub fn start_all(&mut self, within: Duration) {
        for machine in self.machines.values_mut() {
            machine.boot();
        }
        for machine in self.machines.values() {
            machine.wait_booted(within);
        }
    }

    /// Installs every machine of `cluster` from `artifacts` (its render) on its network, with
    /// its share of the PKI, ready to boot.
    pub fn install(tag: &str, cluster: &Cluster, artifacts: &clusterdef::Artifacts) -> Booted {
        let plan = cluster.plan();
        let machines = machines_of(&plan);
        Booted::install_machines(tag, cluster, plan, &machines, artifacts)
    }

    /// Installs `machines` ((hostname, config path in `artifacts`, failure domain) each) on
    /// `cluster`'s network, with their shares of `cluster`'s PKI: the bed of a change, which
    /// holds the machines of both declarations.
    pub fn install_machines(
        tag: &str,
        cluster: &Cluster,
        plan: Plan,
        machines: &[BedMachine],
        artifacts: &clusterdef::Artifacts,
    ) -> Booted {
        Booted::install_machines_but(tag, (None, cluster), plan, machines, artifacts, &BTreeSet::new())
    }

    /// [`Booted::install_machines`], but the machines `later` are only put on the network: a
    /// test installs each when the operator would (a member joining at its step). `earlier` is
    /// the declaration a change starts from, whose machines keep the MACs it gives them.
    pub fn install_machines_but(
        tag: &str,
        (earlier, cluster): (Option<&Cluster>, &Cluster),
        plan: Plan,
        machines: &[BedMachine],
        artifacts: &clusterdef::Artifacts,
        later: &BTreeSet<String>,
    ) -> Booted {
        let network = cluster.network.as_ref().expect("a network");
        // A segment per subnet: the cluster's, and each domain's that has one of its own; the
        // hub is each one's gateway (or a host address of it) and routes between them.
        let mut segments: Vec<(Ipv4Net, String, Vec<String>)> =
            vec![(network.subnet, gateway_of(network.subnet, network.gateway), Vec::new())];
        for d in network.domains.iter() {
            segments.push((d.subnet, gateway_of(d.subnet, d.gateway), Vec::new()));
        }
        for (hostname, _, domain) in machines {
            let own = network.domains.iter().position(|d| Some(d.name.as_ref()) == domain.as_deref());
            segments[own.map_or(0, |i| i + 1)].2.push(hostname.clone());
        }
        let lan = Lan::segmented(
            tag,
            &segments.iter().map(|(net, hub, names)| (hub.clone(), net.prefix, names.clone())).collect::<Vec<_>>(),
        );
        let pki = (cluster.tls.is_some() || cluster.kubernetes.is_some()).then(|| {
            let dir = TempDir::new(&format!("boot-{tag}-pki"));
            clusterdef_pki::generate(cluster).expect("the PKI").write_to(&dir.path().join("pki")).expect("written");
            dir
        });
        // Machines without a static address take one from DHCP, as on a LAN with a DHCP server.
        let dhcp = plan.groups.iter().any(|g| g.machines.is_empty() || g.machines.iter().any(|m| m.address.is_none()));
        let dhcp = dhcp.then(|| {
            let dir = TempDir::new(&format!("boot-{tag}-dhcp"));
            // The top of each segment's subnet, which the declarations leave to DHCP.
            let mut ranges = Vec::new();
            let mut interfaces = Vec::new();
            // Only on segments with machines: a range of the cluster's wider subnet would also
            // match a domain's interface, and dnsmasq would hand out the wrong one there.
            for (j, (subnet, _, _)) in segments.iter().enumerate().filter(|(_, (_, _, names))| !names.is_empty()) {
                let broadcast = u32::from(subnet.addr) | (u32::MAX >> subnet.prefix);
                let (first, last) = (Ipv4Addr::from(broadcast - 60), Ipv4Addr::from(broadcast - 10));
                let mask = Ipv4Addr::from(u32::MAX << (32 - subnet.prefix));
                ranges.push(format!("--dhcp-range={first},{last},{mask},1h"));
                interfaces.push(format!("--interface=br{j}"));
            }
            let child = Command::new(tool("ip"))
                .args(["netns", "exec", &lan.hub])
                .arg(tool("dnsmasq"))
                .args(["--keep-in-foreground", "--port=0", "--no-resolv", "--no-hosts", "--bind-interfaces"])
                .args(interfaces)
                .arg("--dhcp-authoritative")
                .args(ranges)
                .arg(format!("--dhcp-leasefile={}", dir.path().join("leases").display()))
                .arg(format!("--pid-file={}", dir.path().join("pid").display()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("run dnsmasq");
            (child, dir)
        });
        // From matchbox, each machine is installed from what matchbox serves it, fetched as its
        // boot over the network fetches it, on the network it boots on, with its own MAC.
        let matchbox = clusterdef::render::matchbox::base_of(cluster).map(|base| {
            let host: std::net::Ipv4Addr = base
                .trim_start_matches("http://")
                .split([':', '/'])
                .next()
                .and_then(|h| h.parse().ok())
                .expect("matchbox at an IPv4 address");
            // The narrowest segment holding the address: a domain's network before the cluster's.
            let (j, (subnet, _, _)) = segments
                .iter()
                .enumerate()
                .filter(|(_, (net, _, _))| net.contains(host))
                .max_by_key(|(_, (net, _, _))| net.prefix)
                .expect("matchbox on one of the cluster's networks");
            super::matchbox::Matchbox::start(tag, &lan.hub, &base, &format!("br{j}"), subnet.prefix, artifacts)
        });
        let names: Vec<String> = machines.iter().map(|(h, _, _)| h.clone()).collect();
        let mut macs = matchbox.as_ref().map(|_| super::matchbox::macs_of(cluster, &names)).unwrap_or_default();
        for (_, machine, mac) in earlier.map(clusterdef::render::matchbox::installed_machines).unwrap_or_default() {
            macs.insert(machine.hostname, mac);
        }
        let network_of = |hostname: &str| {
            let (net, _, _) = segments.iter().rev().find(|(_, _, names)| names.iter().any(|n| n == hostname))?;
            Some(format!("{}/{}", net.network(), net.prefix))
        };
        let mut booted = Booted {
            plan,
            machines: BTreeMap::new(),
            _pki: None,
            dhcp,
            _matchbox: None,
            booted_from_matchbox: BTreeMap::new(),
            _lan: lan,
        };
        booted._pki = pki;
        if matchbox.is_some() {
            for (hostname, _, _) in machines {
                let (mac, network) = (macs[hostname].clone(), network_of(hostname).expect("the machine's segment"));
                set_mac(&booted._lan.machines[hostname], &mac);
                booted.booted_from_matchbox.insert(hostname.clone(), (mac, network));
            }
        }
        booted._matchbox = matchbox;
        for (hostname, config, _) in machines.iter().filter(|(h, _, _)| !later.contains(h)) {
            match &booted._matchbox {
                Some(_) => {
                    booted.install_from_matchbox(tag, hostname, config);
                }
                None => {
                    let text = artifacts.text(config).expect("the machine's config").to_string();
                    booted.reinstall(tag, hostname, config, &text);
                }
            }
        }
        booted
    }

    /// Installs the machine `hostname` afresh from what matchbox serves it now, fetched as its
    /// boot over the network fetches it (its MAC, its network); `config` names its share of
    /// the PKI as in [`Booted::reinstall`]. The config served.
    pub fn install_from_matchbox(&mut self, tag: &str, hostname: &str, config: &str) -> String {
        let matchbox = self._matchbox.as_ref().expect("the cluster boots from matchbox");
        let (mac, network) = &self.booted_from_matchbox[hostname];
        let text = matchbox.first_boot_config(hostname, mac, network);
        self.reinstall(tag, hostname, config, &text);
        text
    }

    /// The matchbox the machines boot from: [`Matchbox::serve`] another render,
    /// [`Matchbox::answers_mac`].
    ///
    /// [`Matchbox::serve`]: super::matchbox::Matchbox::serve
    /// [`Matchbox::answers_mac`]: super::matchbox::Matchbox::answers_mac
    pub fn matchbox(&mut self) -> &mut super::matchbox::Matchbox {
        self._matchbox.as_mut().expect("the cluster boots from matchbox")
    }

    /// The MAC address the machine `hostname` boots with from matchbox.
    pub fn mac_of(&self, hostname: &str) -> &str {
        &self.booted_from_matchbox[hostname].0
    }

    /// Installs the machine `hostname` afresh from `text` (the config at `config`): a new disk,
    /// with its share of the PKI (the machine's own, or the pool's whose config it boots
    /// from), replacing the machine of that name, whose plug is pulled and disk dropped; as an
    /// operator reprovisions a machine.
    pub fn reinstall(&mut self, tag: &str, hostname: &str, config: &str, text: &str) {
        let files = self._pki.as_ref().map(|d| {
            let own = d.path().join("pki/machines").join(hostname);
            let stem = config.rsplit('/').next().unwrap_or(config).trim_end_matches(".ign");
            if own.is_dir() { own } else { d.path().join("pki/pools").join(stem) }
        });
        self.reinstall_with(tag, hostname, text, files.as_deref());
    }

    /// [`Booted::reinstall`] with `files` as the machine's tree of a PKI (one renewed for a
    /// change, which the bed's own PKI directory is not).
    pub fn reinstall_with(&mut self, tag: &str, hostname: &str, text: &str, files: Option<&Path>) -> &mut Machine {
        drop(self.machines.remove(hostname));
        let netns = self._lan.machines[hostname].clone();
        let machine = Machine::install(tag, hostname, text, &netns, files);
        self.machines.entry(hostname.to_string()).or_insert(machine)
    }

    /// The machine named `hostname`.
    pub fn machine(&self, hostname: &str) -> &Machine {
        &self.machines[hostname]
    }

    /// The network namespace that routes between the machines' segments (the test's clients
    /// reach every machine from it).
    pub fn hub(&self) -> &str {
        &self._lan.hub
    }

    /// The PKI `clusterdef pki` wrote for the cluster, if it has TLS.
    pub fn pki(&self) -> Option<PathBuf> {
        self._pki.as_ref().map(|d| d.path().join("pki"))
    }
}

/// Gives the NIC of the machine in `netns` the MAC address `mac`, as its hardware has it.
fn set_mac(netns: &str, mac: &str) {
    let out =
        Command::new(tool("ip")).args(["-n", netns, "link", "set", "eth0", "address", mac]).output().expect("run ip");
    assert!(out.status.success(), "{netns} takes MAC {mac}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The hub's address on a segment: its gateway when the network names one, else the subnet's
/// last host address.
fn gateway_of(subnet: Ipv4Net, gateway: Option<Ipv4Addr>) -> String {
    match gateway {
        Some(g) => g.to_string(),
        None => Ipv4Addr::from((u32::from(subnet.addr) | (u32::MAX >> subnet.prefix)) - 1).to_string(),
    }
}

/// The machines to boot, by name, with the config each boots from: every machine the plan
/// lists, and for an autoscaled pool one machine per config it has (per domain), named
/// `pool-` and the config's name. O(machines).
pub(super) fn machines_of(plan: &Plan) -> Vec<BedMachine> {
    let mut out: Vec<BedMachine> = plan
        .groups
        .iter()
        .flat_map(|g| &g.machines)
        .map(|m| (m.hostname.clone(), m.config.clone(), m.domain.clone()))
        .collect();
    for group in plan.groups.iter().filter(|g| g.machines.is_empty()) {
        for (i, config) in group.configs.iter().enumerate() {
            let stem = config.rsplit('/').next().unwrap_or(config).trim_end_matches(".ign");
            // One config per domain, in the domains' order.
            let domain = (group.configs.len() == group.domains.len()).then(|| group.domains[i].clone());
            out.push((format!("pool-{stem}"), config.clone(), domain));
        }
    }
    out
}
