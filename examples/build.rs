//! Reads `cluster/production.cluster`, checks it, writes its artifacts under `OUT_DIR` and
//! generates the module `clusterdef_examples::built` includes.

fn main() {
    clusterdef_build::Builder::new("cluster/production.cluster").compile();
}
