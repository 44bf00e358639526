//! Where each fact of an imported declaration comes from. The assembler records every field it
//! sets here, as read (a file and the line of the key), inferred (with the finding that says
//! what was inferred and why, at the same file and line) or told (by the import's options);
//! [`super::Imported::fields_without_evidence`] walks every field of the model, destructured so
//! that a field added to the model fails to compile there until it is accounted for.

use clusterdef_model::{Cluster, Group};

use super::{Finding, Imported};

/// How a fact of the declaration was arrived at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum How {
    /// Written in the file, at the line.
    Read,
    /// Inferred; a finding at the same file and line says what and why.
    Inferred,
    /// Given by the import's options (`--count`, `--name`, the directory's name).
    Told,
}

/// One fact of the declaration and where it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Evidence {
    /// The model field: `bootstrap`, `members.addressing`, `pools[1].spread`.
    pub field: String,
    /// The file it comes from (empty when told).
    pub file: String,
    /// The line (0: the whole file).
    pub line: usize,
    /// Read, inferred or told.
    pub how: How,
    /// For an inferred fact, what the finding that says so is about (its `what`).
    pub finding: Option<String>,
}

/// The evidence recorded while assembling.
#[derive(Default)]
pub(super) struct Ledger(pub(super) Vec<Evidence>);

impl Ledger {
    /// `field` as written in `file` at `line`.
    pub(super) fn read(&mut self, field: impl Into<String>, file: &str, line: usize) {
        self.0.push(Evidence { field: field.into(), file: file.to_string(), line, how: How::Read, finding: None });
    }

    /// `field` inferred: `finding` says so, and is kept with the others.
    pub(super) fn inferred(&mut self, field: impl Into<String>, finding: Finding, findings: &mut Vec<Finding>) {
        let (file, line, what) = (finding.file.clone(), finding.line, Some(finding.what.clone()));
        self.0.push(Evidence { field: field.into(), file, line, how: How::Inferred, finding: what });
        findings.push(finding);
    }

    /// `field` inferred, where the finding at `file:line` about `what` that says so is kept
    /// already.
    pub(super) fn said(&mut self, field: impl Into<String>, file: &str, line: usize, what: &str) {
        let finding = Some(what.to_string());
        self.0.push(Evidence { field: field.into(), file: file.to_string(), line, how: How::Inferred, finding });
    }

    /// `field` given by the options.
    pub(super) fn told(&mut self, field: impl Into<String>) {
        self.0.push(Evidence { field: field.into(), file: String::new(), line: 0, how: How::Told, finding: None });
    }
}

impl Imported {
    /// Every field of the declaration that differs from the language's default and has no
    /// evidence, or whose evidence says inferred without its finding (at its file and line): the
    /// honest-import contract, checked. Empty when every fact is accounted for. O(fields ×
    /// evidence).
    pub fn fields_without_evidence(&self) -> Vec<String> {
        let mut missing = Vec::new();
        let mut need = |field: String, set: bool| {
            if !set {
                return;
            }
            let accounted = self.evidence.iter().filter(|e| e.field == field).any(|e| match e.how {
                How::Inferred => self
                    .findings
                    .iter()
                    .any(|f| f.file == e.file && f.line == e.line && e.finding.as_deref() == Some(f.what.as_str())),
                How::Read | How::Told => true,
            });
            if !accounted {
                missing.push(field);
            }
        };
        let Cluster {
            name: _,
            os,
            production,
            layout: _,
            etcd_release,
            bootstrap,
            members,
            pools,
            network,
            channel,
            ssh_keys,
            boot_server,
            boot_server_kind,
            tls,
            units,
            allows,
            host,
            kubernetes,
        } = &self.cluster;
        let default = Cluster::new("", self.cluster.layout, members.clone());
        // The name and layout are always declared: each must be accounted for.
        need("name".into(), true);
        need("layout".into(), true);
        need("os".into(), *os != default.os);
        need("production".into(), *production != default.production);
        need("etcd_release".into(), *etcd_release != default.etcd_release);
        need("bootstrap".into(), *bootstrap != default.bootstrap);
        need("network".into(), network.is_some());
        need("channel".into(), *channel != default.channel);
        need("ssh_keys".into(), !ssh_keys.is_empty());
        need("boot_server".into(), boot_server.is_some());
        need("boot_server_kind".into(), *boot_server_kind != default.boot_server_kind);
        need("tls".into(), tls.is_some());
        need("allows".into(), !allows.is_empty());
        need("host".into(), !host.is_empty());
        need("kubernetes".into(), kubernetes.is_some());
        for (i, unit) in units.iter().enumerate() {
            need(format!("units[{i}] `{}`", unit.name), true);
        }
        let groups = std::iter::once(("members".to_string(), members))
            .chain(pools.iter().enumerate().map(|(i, p)| (format!("pools[{i}]"), p)));
        for (at, group) in groups {
            let Group {
                name: _,
                role: _,
                size: _,
                spread,
                addressing,
                hostnames,
                channel,
                metadata,
                reboot,
                windows,
                ssh_keys,
                boot,
                inventory,
                macs,
                install_disk,
                host,
                host_in,
            } = group;
            let default = Group::new("", "", group.size);
            // Every group has a name, a role and a size: each must be accounted for.
            need(format!("{at}.name"), true);
            need(format!("{at}.role"), true);
            need(format!("{at}.size"), true);
            need(format!("{at}.spread"), spread.is_some());
            need(format!("{at}.addressing"), *addressing != default.addressing);
            need(format!("{at}.hostnames"), *hostnames != default.hostnames);
            need(format!("{at}.channel"), channel.is_some());
            need(format!("{at}.metadata"), !metadata.is_empty());
            need(format!("{at}.reboot"), *reboot != default.reboot);
            need(format!("{at}.windows"), *windows != default.windows);
            need(format!("{at}.ssh_keys"), !ssh_keys.is_empty());
            need(format!("{at}.boot"), *boot != default.boot);
            need(format!("{at}.inventory"), !inventory.is_empty());
            need(format!("{at}.macs"), !macs.is_empty());
            need(format!("{at}.install_disk"), install_disk.is_some());
            need(format!("{at}.host"), !host.is_empty());
            need(format!("{at}.host_in"), !host_in.is_empty());
        }
        missing
    }
}

#[cfg(test)]
mod tests {
    use super::super::{SourceFile, import};
    use super::How;

    fn member(n: u8) -> SourceFile {
        let text = format!(
            "#cloud-config\ncoreos:\n  etcd2:\n    name: e{n}\n    initial-cluster: e1=http://10.0.0.11:2380,e2=http://10.0.0.12:2380,e3=http://10.0.0.13:2380\n    initial-advertise-peer-urls: http://10.0.0.1{n}:2380\n    listen-peer-urls: http://10.0.0.1{n}:2380\n  fleet:\n    metadata: cabinet=c{n}\n"
        );
        SourceFile { path: format!("m{n}.yml"), text }
    }

    #[test]
    fn every_field_an_import_sets_has_evidence_and_a_missing_one_is_named() {
        let mut imported = import(&[member(1), member(2), member(3)], Some("t")).expect("imports");
        assert_eq!(imported.fields_without_evidence(), Vec::<String>::new(), "{:#?}", imported.evidence);
        // Inferred here: the role (no `role` key) and the network (no `.network` unit).
        let inferred: Vec<&str> =
            imported.evidence.iter().filter(|e| e.how == How::Inferred).map(|e| e.field.as_str()).collect();
        assert_eq!(inferred, ["members.role", "network"]);
        // Without its evidence, a field is named; an inference whose finding is gone, too.
        let mut without = imported.clone();
        without.evidence.retain(|e| e.field != "members.addressing");
        assert_eq!(without.fields_without_evidence(), ["members.addressing"]);
        imported.findings.retain(|f| f.what != "static networking");
        assert_eq!(imported.fields_without_evidence(), ["network"]);
    }
}
