//! A config with the configs it names in `data:` URLs applied as Ignition applies them: each
//! config of `ignition.config.merge`, in order and depth first, merged into the one that names
//! it, the merged config's values winning (an entry of a list is merged with the entry of the
//! same key: a file, directory or link by path, one replacing an entry of another kind at that
//! path; a unit by name, its drop-ins by name; a user by name, SSH keys added); `replace` taking
//! the config's place. A reference to a URL cannot be followed and is listed.
//!
//! Each entry keeps where it was written: its own pointer in the config read, or, for one that
//! came from a merged config, the pointer of the reference. O(entries), with maps by key.

use std::collections::HashMap;

use super::{Config, File, Reference, Unit, User};

/// An entry, and the pointer of where the config read says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    /// `/storage/files/3`, or `/ignition/config/merge/0` for what a merged config holds.
    pub pointer: String,
    /// The entry.
    pub entry: T,
}

/// What a machine gets from a config and the configs it merges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// `passwd.users`, by name.
    pub users: Vec<Located<User>>,
    /// `storage.files`, by path.
    pub files: Vec<Located<File>>,
    /// `storage.directories`: path and mode.
    pub directories: Vec<Located<(String, Option<u32>)>>,
    /// `storage.links`: path, target, hard.
    pub links: Vec<Located<(String, String, bool)>>,
    /// `systemd.units`, by name.
    pub units: Vec<Located<Unit>>,
    /// The references to URLs that were not followed: pointer and URL.
    pub remote: Vec<(String, String)>,
}

/// Entries of one list with an index by key, so merging costs O(entries).
struct Keyed<T> {
    items: Vec<Option<Located<T>>>,
    at: HashMap<String, usize>,
}

impl<T> Keyed<T> {
    fn new() -> Keyed<T> {
        Keyed { items: Vec::new(), at: HashMap::new() }
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Located<T>> {
        let i = *self.at.get(key)?;
        self.items[i].as_mut()
    }

    fn push(&mut self, key: String, item: Located<T>) {
        match self.at.get(&key) {
            Some(&i) => self.items[i] = Some(item),
            None => {
                self.at.insert(key, self.items.len());
                self.items.push(Some(item));
            }
        }
    }

    fn remove(&mut self, key: &str) {
        if let Some(i) = self.at.remove(key) {
            self.items[i] = None;
        }
    }

    fn into_list(self) -> Vec<Located<T>> {
        self.items.into_iter().flatten().collect()
    }
}

struct Building {
    users: Keyed<User>,
    files: Keyed<File>,
    directories: Keyed<(String, Option<u32>)>,
    links: Keyed<(String, String, bool)>,
    units: Keyed<Unit>,
    remote: Vec<(String, String)>,
}

/// `config` with what it merges applied. O(entries of all the configs).
pub fn merged(config: &Config) -> Merged {
    let mut building = Building {
        users: Keyed::new(),
        files: Keyed::new(),
        directories: Keyed::new(),
        links: Keyed::new(),
        units: Keyed::new(),
        remote: Vec::new(),
    };
    apply(config, None, &mut building);
    Merged {
        users: building.users.into_list(),
        files: building.files.into_list(),
        directories: building.directories.into_list(),
        links: building.links.into_list(),
        units: building.units.into_list(),
        remote: building.remote,
    }
}

/// Applies `config` over what is built: its own entries (at their pointers, or at `at` when it
/// is a merged config), then each config it merges, depth first. A `replace` takes the place
/// of the config's own entries.
fn apply(config: &Config, at: Option<&str>, b: &mut Building) {
    let here = |own: String| at.map_or(own, str::to_string);
    match &config.replace {
        Some(Reference::Inline(child)) => {
            apply(child, Some(at.unwrap_or("/ignition/config/replace")), b);
            return;
        }
        Some(Reference::Remote(url)) => b.remote.push((here("/ignition/config/replace".into()), url.clone())),
        None => {}
    }
    for (i, user) in config.users.iter().enumerate() {
        let pointer = here(format!("/passwd/users/{i}"));
        match b.users.get_mut(&user.name) {
            Some(had) => {
                for key in &user.ssh_authorized_keys {
                    if !had.entry.ssh_authorized_keys.contains(key) {
                        had.entry.ssh_authorized_keys.push(key.clone());
                    }
                }
            }
            None => b.users.push(user.name.clone(), Located { pointer, entry: user.clone() }),
        }
    }
    for (i, file) in config.files.iter().enumerate() {
        let pointer = here(format!("/storage/files/{i}"));
        b.directories.remove(&file.path);
        b.links.remove(&file.path);
        match b.files.get_mut(&file.path) {
            Some(had) => {
                let f = &mut had.entry;
                f.mode = file.mode.or(f.mode);
                f.overwrite = file.overwrite.or(f.overwrite);
                f.user = file.user.clone().or(f.user.take());
                f.group = file.group.clone().or(f.group.take());
                f.contents = file.contents.clone().or(f.contents.take());
                f.append.extend(file.append.iter().cloned());
            }
            None => b.files.push(file.path.clone(), Located { pointer, entry: file.clone() }),
        }
    }
    for (i, (path, mode)) in config.directories.iter().enumerate() {
        let pointer = here(format!("/storage/directories/{i}"));
        b.files.remove(path);
        b.links.remove(path);
        let mode = mode.or(b.directories.get_mut(path).and_then(|d| d.entry.1));
        b.directories.push(path.clone(), Located { pointer, entry: (path.clone(), mode) });
    }
    for (i, link) in config.links.iter().enumerate() {
        let pointer = here(format!("/storage/links/{i}"));
        b.files.remove(&link.0);
        b.directories.remove(&link.0);
        b.links.push(link.0.clone(), Located { pointer, entry: link.clone() });
    }
    for (i, unit) in config.units.iter().enumerate() {
        let pointer = here(format!("/systemd/units/{i}"));
        match b.units.get_mut(&unit.name) {
            Some(had) => {
                let u = &mut had.entry;
                u.contents = unit.contents.clone().or(u.contents.take());
                u.enabled = unit.enabled.or(u.enabled);
                u.mask = unit.mask.or(u.mask);
                let mut at: HashMap<String, usize> =
                    u.dropins.iter().enumerate().map(|(i, (n, _))| (n.clone(), i)).collect();
                for (name, contents) in &unit.dropins {
                    match at.get(name) {
                        Some(&i) => u.dropins[i].1 = contents.clone().or(u.dropins[i].1.take()),
                        None => {
                            at.insert(name.clone(), u.dropins.len());
                            u.dropins.push((name.clone(), contents.clone()));
                        }
                    }
                }
            }
            None => b.units.push(unit.name.clone(), Located { pointer, entry: unit.clone() }),
        }
    }
    for (i, reference) in config.merge.iter().enumerate() {
        let pointer = here(format!("/ignition/config/merge/{i}"));
        match reference {
            Reference::Inline(child) => apply(child, Some(&pointer), b),
            Reference::Remote(url) => b.remote.push((pointer, url.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Contents, parse};
    use super::*;

    fn data(json: &str) -> String {
        format!("data:,{}", json.bytes().map(|b| format!("%{b:02X}")).collect::<String>())
    }

    #[test]
    fn merged_configs_apply_as_ignition_applies_them_and_each_entry_keeps_where_it_is_said() {
        let grandchild = r#"{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/c","contents":{"source":"data:,deep"}}]}}"#;
        let child = format!(
            r#"{{"ignition":{{"version":"3.3.0","config":{{"merge":[{{"source":"{}"}}]}}}},"passwd":{{"users":[{{"name":"core","sshAuthorizedKeys":["k2","k1"]}}]}},"storage":{{"files":[{{"path":"/a","contents":{{"source":"data:,new"}}}}],"directories":[{{"path":"/b"}}]}},"systemd":{{"units":[{{"name":"u.service","dropins":[{{"name":"d.conf","contents":"x"}}]}}]}}}}"#,
            data(grandchild)
        );
        let parent = format!(
            r#"{{"ignition":{{"version":"3.3.0","config":{{"merge":[{{"source":"{}"}},{{"source":"https://example.com/more.ign"}}]}}}},"passwd":{{"users":[{{"name":"core","sshAuthorizedKeys":["k1"]}}]}},"storage":{{"files":[{{"path":"/a","mode":384,"contents":{{"source":"data:,old"}}}},{{"path":"/b","contents":{{"source":"data:,file"}}}}]}},"systemd":{{"units":[{{"name":"u.service","enabled":true,"contents":"[Service]\n"}}]}}}}"#,
            data(&child)
        );
        let m = merged(&parse(&parent).expect("reads"));
        let files: Vec<(&str, &str, Option<u32>, Option<&Contents>)> = m
            .files
            .iter()
            .map(|l| (l.pointer.as_str(), l.entry.path.as_str(), l.entry.mode, l.entry.contents.as_ref()))
            .collect();
        assert_eq!(
            files,
            [
                ("/storage/files/0", "/a", Some(0o600), Some(&Contents::Data(b"new".to_vec()))),
                ("/ignition/config/merge/0", "/c", None, Some(&Contents::Data(b"deep".to_vec()))),
            ],
            "the child's contents win, the parent's mode stays; /b becomes the child's directory"
        );
        assert_eq!(m.directories.iter().map(|l| l.entry.0.as_str()).collect::<Vec<_>>(), ["/b"]);
        assert_eq!(m.users[0].entry.ssh_authorized_keys, ["k1", "k2"]);
        let unit = &m.units[0];
        assert_eq!(
            (unit.pointer.as_str(), unit.entry.enabled, unit.entry.dropins.len()),
            ("/systemd/units/0", Some(true), 1)
        );
        assert_eq!(m.remote, [("/ignition/config/merge/1".to_string(), "https://example.com/more.ign".to_string())]);
        let replaced = format!(
            r#"{{"ignition":{{"version":"3.3.0","config":{{"replace":{{"source":"{}"}}}}}},"storage":{{"files":[{{"path":"/gone"}}]}}}}"#,
            data(grandchild)
        );
        let m = merged(&parse(&replaced).expect("reads"));
        assert_eq!(
            m.files.iter().map(|l| (l.pointer.as_str(), l.entry.path.as_str())).collect::<Vec<_>>(),
            [("/ignition/config/replace", "/c")]
        );
    }
}
