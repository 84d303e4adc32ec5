//! Fails by design: it expects `chunks_timeout` to close `[1, 2]` at the deadline in every
//! order, which some seeds do not (item 3, sent at the same instant, lands in the batch).
//! Run only by Lockstep's test of the printed replay command.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::sleep;
use tokio_crates::batches;
use tokio_stream::StreamExt;

#[tokio::test(seeds = 300)]
async fn an_item_at_the_deadline_always_starts_a_new_batch() {
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        tx.send(1).await.unwrap();
        tx.send(2).await.unwrap();
        sleep(Duration::from_millis(10)).await;
        tx.send(3).await.unwrap();
    });
    let got: Vec<Vec<u32>> = batches(rx, 10, Duration::from_millis(10)).collect().await;
    assert_eq!(got, [vec![1, 2], vec![3]]);
}
