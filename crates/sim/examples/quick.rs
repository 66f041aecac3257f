//! Runs a scenario file and prints the mean of each output column and the paths per second.
use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = args.get(2).map_or(1, |t| t.parse().unwrap());
    let model = lrtsim_scenario::load_file(Path::new(&args[1]), &args[3..])
        .unwrap_or_else(|e| panic!("{e}"));
    let t = Instant::now();
    let r = lrtsim_sim::run(
        &model,
        &lrtsim_sim::RunOptions {
            threads,
            chunks: None,
        },
        &|_| {},
    )
    .unwrap();
    let secs = t.elapsed().as_secs_f64();
    for (name, col) in r.layout.names().iter().zip(&r.columns) {
        println!(
            "{name:40} mean {:.6e}",
            col.iter().sum::<f64>() / col.len() as f64
        );
    }
    println!(
        "{} paths in {secs:.3}s: {:.0} paths/s",
        r.paths(),
        r.paths() as f64 / secs
    );
}
