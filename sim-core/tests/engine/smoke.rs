use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use sim_core::time::{sleep, Instant};
use sim_core::{Config, Sim};

#[test]
fn sleeping_tasks_wake_in_virtual_time() {
    let mut sim = Sim::new(Config::default());
    let log = Rc::new(RefCell::new(Vec::new()));
    for (name, ms) in [("a", 30u64), ("b", 10), ("c", 20)] {
        let log = log.clone();
        sim.spawn_named(name, async move {
            sleep(Duration::from_millis(ms)).await;
            log.borrow_mut().push((name, Instant::now()));
        });
    }
    sim.run().unwrap();
    assert_eq!(
        *log.borrow(),
        vec![("b", Instant::from_millis(10)), ("c", Instant::from_millis(20)), ("a", Instant::from_millis(30))]
    );
    assert_eq!(sim.now(), Instant::from_millis(30));
}
