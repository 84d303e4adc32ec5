//! Golden fingerprints: a change that alters scheduling, tracing or the seeded
//! generator changes these values and fails here, so it is made on purpose.
//!
//! To refresh them deliberately, run `cargo test -p sim-core --test engine golden`
//! and copy the printed values (and say why in the commit).

use std::time::Duration;

use sim_core::select::{select, Either};
use sim_core::sync::{mpsc, FingerprintValues};
use sim_core::time::{interval, sleep};
use sim_core::{choose, Config, Sim};

/// Producers, a latency link, a selecting relay with a timer, a consumer, and drawn
/// choices; task and channel names and the values sent on `in` are fingerprinted.
fn program(config: Config) -> String {
    let mut sim = Sim::new(config);
    let (tx, mut rx) = sim_core::named("in", || mpsc::channel::<u32>(4));
    // Values on `in` are fingerprinted too: the golden values pin `value_hash`.
    tx.fingerprint_values();
    let (out_tx, mut out_rx) = mpsc::Builder::new().name("out").latency(Duration::from_millis(3)).channel::<u32>(2);
    for p in 0..3u32 {
        let tx = tx.clone();
        sim.spawn_named(format!("producer-{p}"), async move {
            for i in 0..5u32 {
                sleep(Duration::from_millis(u64::from(choose(3) as u32 * 5))).await;
                tx.send(p * 100 + i).await.unwrap();
            }
        });
    }
    drop(tx);
    sim.spawn_named("relay", async move {
        let mut tick = interval(Duration::from_millis(10));
        loop {
            match select(rx.recv(), sleep(Duration::from_millis(10))).await {
                Either::Left(Some(v)) => out_tx.send(v).await.unwrap(),
                Either::Left(None) => break,
                Either::Right(()) => {
                    tick.tick().await;
                }
            }
        }
    });
    let total = sim
        .block_on(async move {
            let mut total = 0u64;
            while let Some(v) = out_rx.recv().await {
                total = total.wrapping_mul(31).wrapping_add(u64::from(v));
            }
            total
        })
        .unwrap();
    format!("{} {total}", sim.fingerprint())
}

const GOLDEN: [(&str, &str); 5] = [
    ("fifo", "f4715a779b3f8654 16856526172344268390"),
    ("0", "7ae08c4087cdc0a3 8435013544985650384"),
    ("1", "6df7b6a50844203d 8335519892281674226"),
    ("2", "bebc0da92a72d01c 15930458095568308518"),
    ("12345", "b11e96b25c089b4d 12746197903099683344"),
];

#[test]
fn fingerprints_of_fixed_seeds_match_their_golden_values() {
    let mut mismatches = Vec::new();
    for (seed, golden) in GOLDEN {
        let config = match seed {
            "fifo" => Config::default(),
            s => Config::random(s.parse().unwrap()),
        };
        let got = program(config);
        println!("(\"{seed}\", \"{got}\"),");
        if got != golden {
            mismatches.push(format!("seed {seed}: got {got}, golden {golden}"));
        }
    }
    assert!(mismatches.is_empty(), "scheduling changed:\n{}", mismatches.join("\n"));
}

#[test]
fn the_golden_program_is_deterministic_and_seed_dependent() {
    assert_eq!(program(Config::random(7)), program(Config::random(7)));
    let distinct: std::collections::BTreeSet<_> = (0..10).map(|s| program(Config::random(s))).collect();
    assert!(distinct.len() >= 9, "{distinct:?}");
}

/// Message values are hashed the same in every process and on every platform: a
/// change to `value_hash` changes every fingerprinted channel's fingerprint.
#[test]
fn value_hashes_match_their_golden_values() {
    use sim_core::tooling::trace::value_hash;
    let got =
        [value_hash(&1u32), value_hash(&1u64), value_hash("hello"), value_hash(&vec![1u64, 2]), value_hash(&1usize)];
    println!("{got:016x?}");
    assert_eq!(got[1], got[4], "usize hashes as u64");
    assert_ne!(got[0], got[1], "a u32 and a u64 write different bytes");
    assert_eq!(got, GOLDEN_VALUES);
}

const GOLDEN_VALUES: [u64; 5] =
    [0xa934_8838_a2f2_efa2, 0x1a24_2673_49d5_627a, 0x345a_1f3f_9cd5_0071, 0xaa17_2395_a046_05a5, 0x1a24_2673_49d5_627a];
