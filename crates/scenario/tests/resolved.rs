//! `resolved_toml`: the scenario as run, written as TOML, reads back into the same scenario
//! (same hash) — for every example scenario, with and without overrides.

use std::path::{Path, PathBuf};

use lrtsim_scenario::{load_file, load_str, resolved_toml};

fn example_scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    files
}

#[test]
fn every_example_scenario_round_trips_with_its_hash() {
    for file in example_scenarios() {
        for set in [
            vec![],
            vec![
                "simulation.paths=1234".to_string(),
                "simulation.seed=9223372036854775807".to_string(),
            ],
        ] {
            let model = load_file(&file, &set).unwrap();
            let text = resolved_toml(&model.scenario, "a header\nof two lines").unwrap();
            assert!(text.starts_with("# a header\n# of two lines\n\n"), "{text}");
            // Another file name: the name is in the file, not taken from its stem.
            let back = load_str(&text, Path::new("elsewhere.toml"), &[])
                .unwrap_or_else(|e| panic!("{}: {e}\n{text}", file.display()));
            assert_eq!(back.scenario, model.scenario, "{}", file.display());
            assert_eq!(
                back.scenario_hash,
                model.scenario_hash,
                "{}",
                file.display()
            );
            assert_eq!(back.paths, model.paths);
        }
    }
}
