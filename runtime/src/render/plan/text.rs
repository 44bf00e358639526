//! The plan as text: tables (`clusterdef plan --format table`) and the plain listing
//! (`Display`, the default and `plan.txt`).

use super::*;

impl Plan {
    /// The eligible machines in words, one phrase per group: its hostnames when they are few,
    /// else the group, the domains when not all of them, and the count.
    fn describe_eligible(&self, eligible: &[Eligible]) -> Vec<String> {
        let mut out = Vec::new();
        for group in &self.groups {
            let of_group: Vec<&Eligible> = eligible.iter().filter(|e| e.group == group.name).collect();
            if of_group.is_empty() {
                continue;
            }
            let every_domain = group.domains.is_empty() || of_group.len() == group.domains.len();
            let domains = match (every_domain, group.domain_kind) {
                (false, Some(kind)) => {
                    let names: Vec<&str> = of_group.iter().filter_map(|e| e.domain.as_deref()).collect();
                    format!(" in {} {}", if names.len() == 1 { kind.key() } else { kind.plural() }, names.join(", "))
                }
                _ => String::new(),
            };
            let count: usize = of_group.iter().map(|e| e.hostnames.len()).sum();
            out.push(match count {
                0 => format!("{}{domains} (autoscaled)", group.name),
                // Few enough to name, in the group's machine order.
                1..=6 => {
                    let named: Vec<&str> = group
                        .machines
                        .iter()
                        .map(|m| m.hostname.as_str())
                        .filter(|h| of_group.iter().any(|e| e.hostnames.iter().any(|x| x == h)))
                        .collect();
                    named.join(", ")
                }
                n => format!("{}{domains} ({n} machines)", group.name),
            });
        }
        out
    }
}

/// The widest a table column is padded to. A longer cell is written whole and pushes the rest
/// of its row along, so the table stays linear in what it holds: padding every row to one
/// enormous cell would make a small file print rows × that cell's width.
pub(super) const WIDEST_COLUMN: usize = 64;

/// Lays out rows as columns padded to their widest cell (at most [`WIDEST_COLUMN`]), with a rule
/// under the header. Padding is written by hand: `format!`'s width is limited to `u16`, and a
/// cell may be any length. O(cells + their text).
pub(super) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count().min(WIDEST_COLUMN));
        }
    }
    let line = |cells: Vec<String>| {
        let mut text = String::from("  ");
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            let pad = width.saturating_sub(cell.chars().count());
            text.extend(std::iter::repeat_n(' ', pad));
        }
        format!("{}\n", text.trim_end())
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

impl Plan {
    /// The plan as tables: machines, failure domains of the etcd members, units.
    pub fn tables(&self) -> String {
        let production = if self.production { "production" } else { "not production" };
        let mut out = format!("{} `{}` ({production})\n", self.architecture, self.name);
        out.push_str(&format!(
            "etcd: {}, quorum {}, tolerates {}; bootstrap {}\n\nmachines\n",
            plural(self.etcd.members, "member", "members"),
            self.etcd.quorum,
            plural(self.etcd.tolerates, "failure", "failures"),
            self.etcd.bootstrap
        ));
        let mut rows = Vec::new();
        for g in &self.groups {
            let etcd = if g.members { "member" } else { "" };
            if g.machines.is_empty() {
                let domains = if g.domains.is_empty() { "-".to_string() } else { g.domains.join(" ") };
                rows.push(vec![
                    format!("({})", g.size),
                    g.name.clone(),
                    g.role.clone(),
                    domains,
                    "dhcp".to_string(),
                    g.channel.as_str().to_string(),
                    etcd.to_string(),
                ]);
            }
            for m in &g.machines {
                rows.push(vec![
                    m.hostname.clone(),
                    g.name.clone(),
                    g.role.clone(),
                    m.domain.clone().unwrap_or_else(|| "-".to_string()),
                    m.address.map_or_else(|| "dhcp".to_string(), |a| a.to_string()),
                    g.channel.as_str().to_string(),
                    etcd.to_string(),
                ]);
            }
        }
        out.push_str(&table(&["MACHINE", "GROUP", "ROLE", "DOMAIN", "ADDRESS", "CHANNEL", "ETCD"], &rows));
        if !self.domain_losses.is_empty() {
            out.push_str("\nlosing one failure domain\n");
            let rows: Vec<Vec<String>> = self
                .domain_losses
                .iter()
                .map(|l| {
                    vec![
                        format!("{} {}", l.kind.key(), l.domain),
                        l.members_lost.to_string(),
                        l.members_left.to_string(),
                        l.quorum.to_string(),
                        if l.keeps_quorum { "keeps quorum".to_string() } else { "LOSES QUORUM".to_string() },
                    ]
                })
                .collect();
            out.push_str(&table(&["DOMAIN", "MEMBERS LOST", "LEFT", "QUORUM", "OUTCOME"], &rows));
        }
        if !self.units.is_empty() {
            out.push_str("\nunits\n");
            let rows: Vec<Vec<String>> = self
                .units
                .iter()
                .map(|u| {
                    let places = self.describe_eligible(&u.eligible);
                    let (how, places) = match (u.placed_on.is_empty(), u.global) {
                        (false, _) => ("placed on", u.placed_text()),
                        // With no scheduler, a unit not placed now never runs.
                        (true, _) if self.os == Os::Flatcar => {
                            ("placed on", "no machine, so it never runs".to_string())
                        }
                        (true, true) => ("each", places.join(", ")),
                        (true, false) if !u.instances.is_empty() => {
                            ("one of", format!("{} (started as {})", places.join(", "), u.instances.join(" ")))
                        }
                        (true, false) => ("one of", places.join(", ")),
                    };
                    vec![
                        u.name.clone(),
                        how.to_string(),
                        if places.is_empty() { "no eligible machine".to_string() } else { places },
                    ]
                })
                .collect();
            out.push_str(&table(&["UNIT", "RUNS ON", "ELIGIBLE"], &rows));
        }
        if let Some(k) = &self.kubernetes {
            out.push_str(&format!(
                "\nkubernetes {} (services {}, pods {}, {}; a lost node's pods are placed again after {} s)\n",
                k.version, k.services, k.pods, k.cni, k.eviction_seconds
            ));
            let rows: Vec<Vec<String>> = k
                .nodes
                .iter()
                .map(|n| {
                    let kind = n.domain.as_ref().map_or(n.group.clone(), |d| format!("{}/{d}", n.group));
                    vec![kind, n.count.clone(), n.labels.join(" "), n.taints.join(" ")]
                })
                .collect();
            out.push_str(&table(&["NODES", "COUNT", "LABELS", "TAINTS"], &rows));
            if !k.workloads.is_empty() {
                out.push('\n');
                let rows: Vec<Vec<String>> = k
                    .workloads
                    .iter()
                    .map(|w| {
                        vec![
                            w.name.clone(),
                            w.kind.to_string(),
                            format!("{} of {}", w.fits, w.wanted),
                            if w.eligible.is_empty() { "no node".to_string() } else { w.eligible.join(", ") },
                        ]
                    })
                    .collect();
                out.push_str(&table(&["WORKLOAD", "KIND", "PODS FIT", "MAY RUN ON"], &rows));
                out.push_str(&format!("  {}\n", super::kubernetes::room_line(k.pods_placed, k.pod_slots)));
                out.push('\n');
                let rows: Vec<Vec<String>> = k
                    .losses
                    .iter()
                    .flat_map(|loss| {
                        let lost = format!("{} {}", loss.kind.key(), loss.domain);
                        let serving = if loss.control_plane { "serves" } else { "stops (no quorum)" };
                        let mut rows: Vec<Vec<String>> = loss
                            .workloads
                            .iter()
                            .map(|w| {
                                vec![
                                    lost.clone(),
                                    serving.to_string(),
                                    w.name.clone(),
                                    format!("{} of {}", w.running, w.wanted),
                                    if w.survives { "survives".to_string() } else { "does not survive".to_string() },
                                ]
                            })
                            .collect();
                        if let (true, Some(crowded)) = (loss.control_plane, &loss.crowded) {
                            let on =
                                if crowded.on.is_empty() { "every node".to_string() } else { crowded.on.join(", ") };
                            rows.push(vec![
                                lost.clone(),
                                serving.to_string(),
                                "(room)".to_string(),
                                format!("{} for {}", crowded.pods_placed, crowded.pod_slots),
                                format!("{} stay pending on {on}", crowded.pending()),
                            ]);
                        }
                        if rows.is_empty() {
                            let outcome =
                                if loss.control_plane { "every one keeps its pods" } else { "none is placed again" };
                            rows.push(vec![
                                lost,
                                serving.to_string(),
                                "(all)".to_string(),
                                String::new(),
                                outcome.to_string(),
                            ]);
                        }
                        rows
                    })
                    .collect();
                out.push_str(&table(&["LOSING", "CONTROL PLANE", "WORKLOAD", "PODS", "OUTCOME"], &rows));
                out.push_str(
                    "  (a workload not listed under a loss keeps every pod it wants; after a `(room)` row, which pods stay pending depends on the order they are created)\n",
                );
            }
        }
        if let Some(m) = &self.matchbox {
            out.push_str(&format!("\nmatchbox at {} (data directory `matchbox/`)\n", m.base));
            let rows: Vec<Vec<String>> = m
                .rows()
                .into_iter()
                .map(|(g, selector, config)| {
                    vec![g.serves.clone(), g.id.clone(), selector.join(" "), g.profile.clone(), config.to_string()]
                })
                .collect();
            out.push_str(&table(&["SERVES", "GROUP", "SELECTOR", "PROFILE", "CONFIG"], &rows));
        }
        if !self.accepted_risks.is_empty() {
            out.push_str("\naccepted risks\n");
            let rows: Vec<Vec<String>> = self
                .accepted_risks
                .iter()
                .map(|r| vec![r.rule.to_string(), r.silenced.to_string(), r.reason.clone()])
                .collect();
            out.push_str(&table(&["RULE", "SILENCES", "REASON"], &rows));
        }
        out
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let production = if self.production { "production" } else { "not production" };
        writeln!(f, "{} `{}` ({production})", self.architecture, self.name)?;
        let release = match (self.os, self.etcd.release) {
            (Os::Flatcar, _) => "etcd 3.5 in etcd-member, Flatcar",
            (_, EtcdRelease::V2) => "etcd2",
            (_, EtcdRelease::V0_4) => "etcd 0.4",
        };
        writeln!(
            f,
            "etcd: {} ({release}), quorum {}, tolerates {}; bootstrap {}",
            plural(self.etcd.members, "member", "members"),
            self.etcd.quorum,
            plural(self.etcd.tolerates, "failure", "failures"),
            self.etcd.bootstrap
        )?;
        let named: Vec<String> = self
            .etcd
            .member_urls
            .iter()
            .filter(|m| !m.certificate_names.is_empty())
            .map(|m| format!("{}: {}", m.name, m.certificate_names.join(", ")))
            .collect();
        if !named.is_empty() {
            writeln!(f, "TLS: member certificates must name (as subject alternative names) {}", named.join("; "))?;
        }
        writeln!(f, "\nmachines")?;
        for g in &self.groups {
            let domains = match g.domain_kind {
                Some(kind) => format!(", across {} {}", kind.plural(), g.domains.join(", ")),
                None => String::new(),
            };
            let etcd = match &g.etcd_access {
                EtcdAccess::Member => ", etcd members".to_string(),
                EtcdAccess::Proxy(url) => format!(", etcd through a local proxy on {url}"),
                EtcdAccess::Endpoints(_) => ", etcd at the members' endpoints".to_string(),
                EtcdAccess::Gateway(url) => format!(", etcd through a local gateway on {url}"),
            };
            writeln!(
                f,
                "  {}: {}, role={}, channel {}, reboot {}{domains}{etcd}",
                g.name,
                g.size,
                g.role,
                g.channel.as_str(),
                g.reboot.as_str()
            )?;
            for m in &g.machines {
                let address = m.address.map_or_else(|| "dhcp".to_string(), |a| a.to_string());
                let domain = m.domain.as_ref().map_or(String::new(), |d| format!("  {d}"));
                writeln!(f, "    {:<24} {address:<16}{domain}", m.hostname)?;
            }
            for h in &g.host {
                let detail = if h.detail.is_empty() { String::new() } else { format!(" ({})", h.detail) };
                writeln!(f, "    host ({}): {} {}{detail}", h.scope, h.kind, h.name)?;
            }
        }
        if !self.domain_losses.is_empty() {
            writeln!(f, "\nfailure domains of the etcd members")?;
            for loss in &self.domain_losses {
                let verdict = if loss.keeps_quorum { "keeps quorum" } else { "LOSES QUORUM" };
                writeln!(
                    f,
                    "  lose {} {}: {} of {} down, {} left, quorum {}: {verdict}",
                    loss.kind.key(),
                    loss.domain,
                    loss.members_lost,
                    self.etcd.members,
                    loss.members_left,
                    loss.quorum
                )?;
            }
        }
        if !self.units.is_empty() {
            writeln!(f, "\nunits")?;
            for u in &self.units {
                let how = if u.global { "runs on each of" } else { "runs on one of" };
                let mut follows = u.follows.as_ref().map_or(String::new(), |t| format!(", beside {t}"));
                if let Some(id) = &u.machine_id {
                    follows.push_str(&format!(", only on machine ID {id}"));
                }
                if !u.conflicts.is_empty() {
                    follows.push_str(&format!(", never beside {}", u.conflicts.join(" ")));
                }
                if !u.replaces.is_empty() {
                    follows.push_str(&format!(", moving away {}", u.replaces.join(" ")));
                }
                if u.placed_on.is_empty() && !u.instances.is_empty() {
                    follows.push_str(&format!(", started as {}", u.instances.join(" ")));
                }
                let places = self.describe_eligible(&u.eligible);
                if !u.placed_on.is_empty() {
                    writeln!(f, "  {}: placed on {}{follows}", u.name, u.placed_text())?;
                } else if self.os == Os::Flatcar {
                    writeln!(f, "  {}: placed on no machine, so it never runs{follows}", u.name)?;
                } else if places.is_empty() {
                    writeln!(f, "  {}: no eligible machine{follows}", u.name)?;
                } else {
                    writeln!(f, "  {}: {how} {}{follows}", u.name, places.join(", "))?;
                }
            }
        }
        if let Some(k) = &self.kubernetes {
            write!(f, "{k}")?;
        }
        if let Some(m) = &self.matchbox {
            write!(f, "{m}")?;
        }
        if !self.accepted_risks.is_empty() {
            writeln!(f, "\naccepted risks")?;
            for risk in &self.accepted_risks {
                let effect = match risk.silenced {
                    0 => "silences nothing: remove this allow".to_string(),
                    n => format!("silences {}", plural(n as u64, "violation", "violations")),
                };
                writeln!(f, "  {}: {} ({effect})", risk.rule, risk.reason)?;
            }
        }
        Ok(())
    }
}
