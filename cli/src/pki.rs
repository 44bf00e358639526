//! `clusterdef pki FILE --out DIR [--renew OLD_DIR]`: the cluster's PKI into a new directory,
//! or its renewal under the CAs of the PKI the cluster runs with.

use std::path::Path;

use clusterdef_pki::PkiError;

use crate::{Format, Outcome, load, paint};

/// Runs the command.
pub(crate) fn command(file: &Path, out: &Path, renew: Option<&Path>) -> Outcome {
    let checked = match load(file, Format::Text) {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    let made = match renew {
        None => clusterdef_pki::generate(checked.cluster()).map(|pki| (pki, Vec::new())),
        Some(old) => clusterdef_pki::renew(checked.cluster(), old).map(|r| (r.pki, r.removed)),
    };
    match made.and_then(|(pki, removed)| pki.write_to(out).map(|written| (written, removed))) {
        Ok((written, removed)) => {
            match renew {
                None => println!("wrote the PKI into {} ({} files; keys 0600)", out.display(), written.len()),
                Some(old) => {
                    println!(
                        "renewed the PKI of {} into {} ({} files: the same CAs, service-account key and bootstrap token; every other certificate and key new, keys 0600)",
                        old.display(),
                        out.display(),
                        written.len()
                    );
                    for tree in removed {
                        println!(
                            "no longer in the cluster: {tree} (its certificates stay valid until they expire; wipe its keys from that machine)"
                        );
                    }
                }
            }
            Outcome::Ok
        }
        Err(e) => {
            eprint!("{}", paint(&format!("error: {e}\n")));
            // A cluster that needs no PKI, or an old directory that is no PKI of it, is the
            // input's fault; an existing directory or a failed write is the environment's.
            match e {
                PkiError::Nothing(_) => Outcome::Invalid,
                _ => Outcome::Trouble,
            }
        }
    }
}
