//! Outside simulation (no `--cfg lockstep`), sim-tokio is tokio: the same types, so
//! crates that take tokio's types accept sim-tokio's. CI builds this without the flag.
#![cfg(not(lockstep))]

use std::time::Duration;

/// Compiles only if `sim_tokio`'s items are tokio's own.
#[test]
fn sim_tokio_is_tokio_without_the_flag() {
    let (tx, rx): (tokio::sync::mpsc::Sender<u8>, tokio::sync::mpsc::Receiver<u8>) = sim_tokio::sync::mpsc::channel(1);
    let runtime: tokio::runtime::Runtime =
        sim_tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let got = runtime.block_on(async move {
        let sleep: tokio::time::Sleep = sim_tokio::time::sleep(Duration::from_millis(1));
        sleep.await;
        let mut rx = rx;
        let handle: tokio::task::JoinHandle<()> = sim_tokio::spawn(async move { tx.send(7).await.unwrap() });
        handle.await.unwrap();
        rx.recv().await
    });
    assert_eq!(got, Some(7));
    assert!(!sim_tokio::lockstep::is_simulated());
}
