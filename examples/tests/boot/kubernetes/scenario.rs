//! The emulated kubelets' scenario: the real control plane at rest, then each failure domain's
//! loss and return, held to the plan (the parent module says what is real and what emulated).

use super::*;

/// Each member runs in a network namespace of its own at its declared address (`Lan`), so the
/// addresses exist without touching the host's network and each member connects from its own.
/// Returns what each domain's loss did, in words.
pub(super) fn run_scenario(cluster: &Cluster, tag: &str) -> Vec<String> {
    // One control plane at a time: on two cores, two would slow each other past the waits. A
    // failed run poisons the lock; the next still runs.
    let _one_at_a_time = crate::support::heavy();
    let k = cluster.kubernetes.clone().expect("the cluster runs Kubernetes");
    let full_plan = cluster.plan();
    let plan: KubernetesPlan = cluster.plan().kubernetes.expect("a Kubernetes plan");
    let bin = control_plane_binaries(&k.version);
    let dir = TempDir::new(tag);

    // The PKI, as `clusterdef pki` writes it.
    let pki_dir = dir.path().join("pki");
    clusterdef_pki::generate(cluster).expect("the PKI").write_to(&pki_dir).expect("written");
    let admin_conf = std::fs::read_to_string(pki_dir.join("admin.conf")).expect("admin.conf");
    let admin = admin_files(&admin_conf, dir.path());

    // Every config, applied by real Ignition; the members' trees with their PKI merged in.
    let applied = apply_all(tag, cluster);
    let machines = cluster.machines();
    let mut members = Vec::new();
    for m in machines.iter().filter(|m| m.group == clusterdef::GroupRef::Members) {
        let config = full_plan
            .groups
            .iter()
            .flat_map(|g| g.machines.iter())
            .find(|p| p.hostname == m.hostname)
            .map(|p| p.config.clone())
            .expect("the member is planned");
        let tree = applied.get(&config).expect("the member's config");
        let root = dir.path().join("machines").join(&m.hostname);
        std::fs::create_dir_all(&root).expect("root");
        copy_tree(&tree.root(), &root);
        crate::support::install_pki(&pki_dir.join("machines").join(&m.hostname), &root);
        members.push(MachineRoot {
            hostname: m.hostname.clone(),
            address: m.address.expect("static").to_string(),
            root,
        });
    }
    let on_lan: Vec<(String, String)> = members.iter().map(|m| (m.hostname.clone(), m.address.clone())).collect();
    // One flat network for every member, whatever subnets the domains have: the plug is pulled
    // on processes, not on routes.
    assert!(on_lan.iter().all(|(_, a)| a.starts_with("10.")), "members in 10.0.0.0/8: {on_lan:?}");
    let lan = Lan::new(tag, "10.255.255.250", 8, &on_lan);

    // Each member's processes, from its applied files.
    let mut commands = BTreeMap::new();
    for m in &members {
        let dropin = std::fs::read_to_string(m.path("/etc/systemd/system/etcd-member.service.d/20-clusterdef.conf"))
            .expect("drop-in");
        let mut env = systemd_environment(&[crate::applied::ETCD_MEMBER_UNIT, &dropin]);
        // Without TLS the wrapper's default (`/etc/ssl/certs`) is mounted on itself: nothing to do.
        let ssl = env
            .iter()
            .find(|(k, _)| k == "ETCD_SSL_DIR")
            .filter(|(_, v)| v != "/etc/ssl/certs")
            .map(|(_, v)| m.path(v));
        env.retain(|(k, _)| k != "ETCD_DATA_DIR");
        env.push(("ETCD_DATA_DIR".into(), dir.path().join("etcd-data").join(&m.hostname).display().to_string()));
        commands.insert(format!("etcd/{}", m.hostname), (vec![etcd_35("etcd").display().to_string()], env, ssl));
        let manifests: Vec<String> = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]
            .iter()
            .map(|c| {
                std::fs::read_to_string(m.path(&format!("/etc/kubernetes/manifests/{c}.yaml"))).expect("static pod")
            })
            .collect();
        let pods = read_yaml_1_1(&manifests.iter().map(String::as_str).collect::<Vec<_>>());
        for pod in &pods {
            let container = &get(pod, &["spec", "containers"]).and_then(Value::as_array).expect("containers")[0];
            let command: Vec<String> = get(container, &["command"])
                .and_then(Value::as_array)
                .expect("command")
                .iter()
                .map(|v| v.as_str().expect("string").to_string())
                .collect();
            let component = command[0].clone();
            let mut argv = vec![bin.join(&component).display().to_string()];
            argv.extend(command[1..].iter().map(|a| m.argument(a)));
            for (c, flags) in TEST_FLAGS {
                if *c == component {
                    argv.extend(flags.iter().map(|f| f.to_string()));
                }
            }
            commands.insert(format!("{component}/{}", m.hostname), (argv, Vec::new(), None));
        }
        // The kubeconfigs name the machine's paths: read in its tree.
        for conf in ["controller-manager.conf", "scheduler.conf"] {
            let path = m.path(&format!("/etc/kubernetes/{conf}"));
            let text = std::fs::read_to_string(&path).expect("kubeconfig");
            std::fs::write(&path, text.replace("\"/etc/", &format!("\"{}/etc/", m.root.display())))
                .expect("kubeconfig");
        }
    }
    let run = Running { lan, dir, members, commands, children: Default::default(), admin };
    let names: Vec<String> = run.commands.keys().cloned().collect();
    for name in names.iter().filter(|n| n.starts_with("etcd/")) {
        run.start(name);
    }
    for name in names.iter().filter(|n| !n.starts_with("etcd/")) {
        run.start(name);
    }
    let first = run.members[0].address.clone();
    wait_for("the apiserver answers", Duration::from_secs(90), || match run.api(&first, "GET", "/readyz", None) {
        (200, _) => Ok(()),
        (code, body) => {
            Err(format!("{code} {body}: {}", run.log_tail(&format!("kube-apiserver/{}", run.members[0].hostname))))
        }
    });

    // Nodes, as each applied kubelet unit registers them; their Leases renewed in the background.
    let mut nodes: BTreeMap<String, String> = BTreeMap::new();
    for (config, tree) in &applied {
        let (hostname, labels, taints) = registration(tree);
        let address = machines.iter().find(|m| m.hostname == hostname).and_then(|m| m.address).map(|a| a.to_string());
        let node = json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": { "name": hostname, "labels": labels },
            "spec": { "taints": taints.iter().map(|(k, e)| json!({"key": k, "effect": e})).collect::<Vec<_>>() },
        });
        let (code, said) = run.api(&first, "POST", "/api/v1/nodes", Some(&node));
        assert_eq!(code, 201, "{config}: register {hostname}: {said}");
        let status = node_status(address.as_deref());
        let patch = run.api(&first, "PATCH", &format!("/api/v1/nodes/{hostname}/status"), Some(&status));
        assert_eq!(patch.0, 200, "{hostname} status: {}", patch.1);
        nodes.insert(hostname, kind_of(&labels));
    }
    let alive: Arc<Mutex<BTreeSet<String>>> = Arc::new(Mutex::new(nodes.keys().cloned().collect()));
    let endpoint = Arc::new(Mutex::new(first.clone()));
    let stop = Arc::new(Mutex::new(false));
    // A kubelet renews its Lease every few seconds through whichever apiserver answers: each
    // renewal gets 3 s, then the next member's apiserver is tried, so one apiserver waiting on
    // a lost etcd peer does not let every node's Lease lapse past the 8 s grace.
    let members: Vec<String> = run.members.iter().map(|m| m.address.clone()).collect();
    let renewer = {
        let (alive, endpoint, stop) = (alive.clone(), endpoint.clone(), stop.clone());
        let (ns, admin) = (run.lan.hub.clone(), run.admin.clone());
        std::thread::spawn(move || {
            while !*stop.lock().expect("lock") {
                let current = endpoint.lock().expect("lock").clone();
                let names: Vec<String> = alive.lock().expect("lock").iter().cloned().collect();
                let order: Vec<&String> =
                    std::iter::once(&current).chain(members.iter().filter(|m| **m != current)).collect();
                for n in names {
                    let lease = json!({
                        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                        "metadata": { "name": n, "namespace": "kube-node-lease" },
                        "spec": { "holderIdentity": n, "leaseDurationSeconds": 40, "renewTime": micro_now() },
                    });
                    let path = format!("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{n}");
                    let renew = json!({ "spec": { "holderIdentity": n, "leaseDurationSeconds": 40, "renewTime": micro_now() } });
                    let merge = "application/merge-patch+json";
                    for at in &order {
                        match api_request(&ns, &admin, at, "PATCH", &path, Some(&renew), merge, 3).0 {
                            200 => break,
                            404 => {
                                let create = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
                                let json = "application/json";
                                if api_request(&ns, &admin, at, "POST", create, Some(&lease), json, 3).0 == 201 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                }
                std::thread::sleep(Duration::from_secs(2));
            }
        })
    };

    // The manifests, as the first member's bootstrap unit applies them (with the token the PKI
    // made); pods need the default ServiceAccount the controller manager creates.
    wait_for("the default ServiceAccount", Duration::from_secs(60), || {
        match run.api(&first, "GET", "/api/v1/namespaces/default/serviceaccounts/default", None) {
            (200, _) => Ok(()),
            (code, body) => Err(format!("{code} {body}")),
        }
    });
    let bootstrap = run.members[0].path("/etc/kubernetes/bootstrap");
    let mut texts = Vec::new();
    let files = walk_like_kubectl(&bootstrap);
    for f in &files {
        texts.push(std::fs::read_to_string(f).expect("manifest"));
    }
    for (file, docs) in files.iter().zip(yaml_documents(&texts.iter().map(String::as_str).collect::<Vec<_>>())) {
        for doc in docs {
            let path = collection(&doc);
            let (code, said) = run.api(&first, "POST", &path, Some(&doc));
            assert_eq!(code, 201, "{}: {said}", file.display());
        }
    }

    // The plan's promise, at rest.
    let names: Vec<String> = plan.workloads.iter().map(|w| w.name.clone()).collect();
    let at_rest = Expected::at_rest(&plan);
    wait_for("every workload placed as the plan says", Duration::from_secs(60), || {
        holds(&placements(&run, &first, &names)?, &nodes, &at_rest)
    });

    // The plug, domain by domain.
    let mut outcomes = Vec::new();
    for loss in &plan.losses {
        let lost_hosts: Vec<String> = nodes
            .iter()
            .filter(|(_, kind)| kind.ends_with(&format!("/{}", loss.domain)))
            .map(|(n, _)| n.clone())
            .collect();
        let lost_members: Vec<String> =
            run.members.iter().filter(|m| lost_hosts.contains(&m.hostname)).map(|m| m.hostname.clone()).collect();
        let lost_what = format!("{} {}", loss.kind.key(), loss.domain);
        let survivor = run.members.iter().find(|m| !lost_members.contains(&m.hostname)).map(|m| m.address.clone());
        let started = Instant::now();
        for h in &lost_members {
            for p in run.processes_of(h) {
                run.kill(&p);
            }
        }
        alive.lock().expect("lock").retain(|n| !lost_hosts.contains(n));
        // The domain returns: its members start again on their data, its nodes renew again.
        let bring_back = || {
            for h in &lost_members {
                for p in run.processes_of(h) {
                    run.start(&p);
                }
            }
            alive.lock().expect("lock").extend(lost_hosts.iter().cloned());
            recover(&run, &machines, &lost_hosts, &lost_what, &names, &nodes, &at_rest);
        };
        let Some(survivor) = survivor.filter(|_| loss.control_plane) else {
            // The plan says etcd loses quorum: no surviving apiserver serves (a write needs a
            // quorum, and readiness checks etcd), until the domain returns.
            for m in run.members.iter().filter(|m| !lost_members.contains(&m.hostname)) {
                wait_for(
                    &format!("{} stops serving without quorum after {lost_what}'s loss", m.hostname),
                    Duration::from_secs(60),
                    || {
                        let probe = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "probe-", "namespace": "default"}});
                        match run.api(&m.address, "POST", "/api/v1/namespaces/default/configmaps", Some(&probe)).0 {
                            201 => Err("a write succeeded".to_string()),
                            _ => Ok(()),
                        }
                    },
                );
            }
            outcomes.push(format!("{lost_what}: the control plane stopped, as planned"));
            bring_back();
            continue;
        };
        *endpoint.lock().expect("lock") = survivor.clone();
        let alive_nodes: BTreeMap<String, String> =
            nodes.iter().filter(|(n, _)| !lost_hosts.contains(n)).map(|(n, k)| (n.clone(), k.clone())).collect();
        let after = Expected::after(&at_rest, loss, &alive_nodes);
        // The lost nodes are tainted unreachable by the node lifecycle controller: after the
        // node-monitor grace, or, when the domain held the controller manager's leader, after a
        // new election (a 15 s lease) and the new leader's own grace; generous under load.
        wait_for(&format!("{lost_what}'s nodes tainted unreachable"), Duration::from_secs(150), || {
            for n in &lost_hosts {
                let (code, node) = run.api(&survivor, "GET", &format!("/api/v1/nodes/{n}"), None);
                let tainted = node["spec"]["taints"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|t| t["key"] == "node.kubernetes.io/unreachable" && t["effect"] == "NoExecute");
                if code != 200 || !tainted {
                    return Err(format!("{n}: {code}, not tainted yet"));
                }
            }
            Ok(())
        });
        // The node-monitor grace and the toleration, then eviction at the per-zone rate and the
        // scheduler; generous, since the suite's other tests share the two cores.
        let within = Duration::from_secs(8 + u64::from(k.eviction_seconds) + 150);
        wait_for(&format!("the workloads placed again after {lost_what}'s loss"), within, || {
            let placed = placements(&run, &survivor, &names)?;
            // DaemonSet pods on lost nodes are never evicted (they tolerate it): only the live
            // nodes' are compared.
            let live: BTreeMap<String, (Vec<String>, usize)> = placed
                .into_iter()
                .map(|(w, (bound, unbound))| {
                    (w, (bound.into_iter().filter(|n| !lost_hosts.contains(n)).collect(), unbound))
                })
                .collect();
            holds(&live, &alive_nodes, &after)
        });
        let replaced = started.elapsed();
        outcomes.push(format!("{lost_what}: placed again as planned after {replaced:?}"));

        bring_back();
    }
    *stop.lock().expect("lock") = true;
    let _ = renewer.join();
    outcomes
}

/// After a lost domain's members were started again and its nodes renew again: every
/// apiserver serves, each returning kubelet posts its node's status (Ready), the node lifecycle
/// controller lifts the taints, the returned kubelets finish deleting the pods evicted from
/// them, and every workload is as at rest.
fn recover(
    run: &Running,
    machines: &[clusterdef::Machine],
    lost_hosts: &[String],
    lost_what: &str,
    names: &[String],
    nodes: &BTreeMap<String, String>,
    at_rest: &[Expected],
) {
    wait_for(&format!("every member's apiserver ready after {lost_what} returns"), Duration::from_secs(120), || {
        for m in &run.members {
            if run.api(&m.address, "GET", "/readyz", None).0 != 200 {
                return Err(format!("{} not ready", m.hostname));
            }
        }
        Ok(())
    });
    let at = run.members[0].address.clone();
    for n in lost_hosts {
        let address = machines.iter().find(|m| m.hostname == *n).and_then(|m| m.address).map(|a| a.to_string());
        let (code, said) =
            run.api(&at, "PATCH", &format!("/api/v1/nodes/{n}/status"), Some(&node_status(address.as_deref())));
        assert_eq!(code, 200, "{n} status: {said}");
    }
    wait_for(&format!("{lost_what}'s nodes untainted"), Duration::from_secs(90), || {
        for n in lost_hosts {
            let (_, node) = run.api(&at, "GET", &format!("/api/v1/nodes/{n}"), None);
            if node["spec"]["taints"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t["key"] == "node.kubernetes.io/unreachable")
            {
                return Err(format!("{n} still tainted"));
            }
        }
        Ok(())
    });
    let (_, pods) = run.api(&at, "GET", "/api/v1/namespaces/default/pods", None);
    for pod in pods["items"].as_array().into_iter().flatten().filter(|p| !p["metadata"]["deletionTimestamp"].is_null())
    {
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        let path = format!("/api/v1/namespaces/default/pods/{name}?gracePeriodSeconds=0");
        run.api(&at, "DELETE", &path, Some(&json!({"gracePeriodSeconds": 0})));
    }
    // A controller manager that lost its lease with the domain elects again, and its
    // ReplicaSets and the scheduler then act; generous, since the suite's other tests share the
    // two cores.
    wait_for(&format!("the workloads back as at rest after {lost_what} returns"), Duration::from_secs(180), || {
        holds(&placements(run, &at, names)?, nodes, at_rest)
    });
}
