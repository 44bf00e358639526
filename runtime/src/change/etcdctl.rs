//! The `etcdctl` command lines a change's steps print, for the endpoints and TLS files the
//! cluster uses. Each is one line `sh` runs as printed.

use clusterdef_model::Cluster;

use super::members::Member;

/// How this cluster's `etcdctl` is called: its TLS flags, if any.
#[derive(Clone, Debug)]
pub struct Etcdctl {
    tls: String,
}

/// `word` as one shell word: as it is when it holds only characters no shell reads specially,
/// else in single quotes.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | ':' | '=' | ',' | '@'));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

impl Etcdctl {
    /// The command for `cluster`: with TLS, the CA, certificate and key at their declared paths
    /// (run on a member, whose files those are, or anywhere the same files are).
    pub fn of(cluster: &Cluster) -> Etcdctl {
        let tls = cluster.tls.as_ref().map_or_else(String::new, |t| {
            format!(" --cacert={} --cert={} --key={}", shell_word(&t.ca), shell_word(&t.cert), shell_word(&t.key))
        });
        Etcdctl { tls }
    }

    /// `etcdctl` against `endpoints` with `args`.
    pub fn run<'a>(&self, endpoints: impl IntoIterator<Item = &'a Member>, args: &str) -> String {
        let list: Vec<&str> = endpoints.into_iter().map(|m| m.client_url.as_str()).collect();
        format!("etcdctl --endpoints={}{} {args}", list.join(","), self.tls)
    }

    /// Sets `ID` to the member ID of the member at `peer_url`, from `member list` (its fourth
    /// field is the peer URLs; each member here has one); fails when there is none.
    pub fn id_of<'a>(&self, endpoints: impl IntoIterator<Item = &'a Member>, peer_url: &str) -> String {
        format!(
            "ID=$({} | awk -F', ' '$4 == \"{peer_url}\" {{ print $1 }}') && [ -n \"$ID\" ]",
            self.run(endpoints, "member list")
        )
    }

    /// Whether `member list` answers and one of its lines matches `pattern` (a `grep` pattern:
    /// a line is `ID, status, name, peer URLs, client URLs, is learner`), or with `listed`
    /// false, answers and none does. A list that does not answer is neither.
    pub fn listed<'a>(&self, endpoints: impl IntoIterator<Item = &'a Member>, pattern: &str, listed: bool) -> String {
        let not = if listed { "" } else { "! " };
        format!("L=$({}) && {not}printf '%s\\n' \"$L\" | grep -q '{pattern}'", self.run(endpoints, "member list"))
    }

    /// `act` retried every five seconds until `done` holds, as one line: etcd refuses a
    /// membership change for a few seconds after any member (re)connects (`unhealthy cluster`)
    /// and a promotion until the learner has caught up, and `done` makes a retry after a lost
    /// answer harmless.
    pub fn until(done: &str, act: &str) -> String {
        format!("until {{ {done}; }} || {{ {act}; }}; do sleep 5; done")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_with_characters_a_shell_reads_are_quoted() {
        assert_eq!(shell_word("/etc/ssl/etcd/ca.pem"), "/etc/ssl/etcd/ca.pem");
        assert_eq!(shell_word("/etc/a b"), "'/etc/a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("$(x)"), "'$(x)'");
    }
}
