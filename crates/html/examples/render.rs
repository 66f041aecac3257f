//! Renders a run directory's report to stdout (a development aid; the CLI is `lrtsim report`).

fn main() {
    let dir = std::env::args().nth(1).expect("a run directory");
    let html = lrtsim_html::run_report(
        std::path::Path::new(&dir),
        &lrtsim_html::Stories::Unavailable("not computed by this example".into()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    print!("{html}");
}
