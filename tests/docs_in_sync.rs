//! The feature table exists twice — the repository's README and the crate's page on
//! crates.io (`mackerel-trace/README.md`, also the crate docs' opening) — and must say the same,
//! and list every feature the crate has.

fn feature_table(readme: &str) -> Vec<&str> {
    let start = readme
        .find("| feature | what it adds |")
        .expect("a feature table");
    readme[start..]
        .lines()
        .take_while(|line| line.starts_with('|'))
        .collect()
}

#[test]
fn both_readmes_carry_the_same_feature_table_with_every_feature() {
    let root = include_str!("../README.md");
    let crate_page = include_str!("../mackerel-trace/README.md");
    assert_eq!(feature_table(root), feature_table(crate_page));

    let manifest = include_str!("../mackerel-trace/Cargo.toml");
    let features = &manifest[manifest.find("[features]").expect("features")..];
    let features = &features[..features.find("\n[").unwrap_or(features.len())];
    let listed: Vec<&str> = feature_table(crate_page)
        .iter()
        .filter_map(|row| row.split('`').nth(1))
        .collect();
    for line in features.lines() {
        let Some((name, _)) = line.split_once(" = ") else {
            continue;
        };
        if name == "default" || name.starts_with('#') {
            continue;
        }
        assert!(
            listed.contains(&name),
            "feature {name:?} is missing from the feature table ({listed:?})"
        );
    }
}
