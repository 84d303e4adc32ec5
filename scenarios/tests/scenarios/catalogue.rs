//! Every scenario of the catalogue shows what it must.

use scenarios::registry;
use sim_core::CheckConfig;

#[test]
fn the_throttle_hang_is_caught_and_replays_to_the_same_fingerprint() {
    let buggy = registry::get("throttle-hang/buggy").unwrap();
    let summary = buggy.check(CheckConfig::default().seeds(0..100), &|| {});
    let first = summary.first_failure().expect("caught within 100 seeds");
    let replayed = buggy.run_tape(first.failure.tape.clone());
    assert_eq!(replayed.fingerprint, first.failure.fingerprint);
}
