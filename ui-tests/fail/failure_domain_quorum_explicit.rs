fn main() {
    let _cluster = clusterdef::cluster! {
        central: 5 across zones ["us-east-1a": 3, "us-east-1b": 1, "us-east-1c": 1],
    };
}
