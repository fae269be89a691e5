//! The size of a query's future, which every query moves into its task: connecting (TLS, the
//! password function) and remaking a connection's settings are large futures that few queries
//! run, so they are boxed where they are awaited. Without that the query future was 16 KB (from
//! 5 KB), and copying it cost a point read at 16 in flight 2–5 µs of CPU.

use read_replica_core::cluster::{Causal, Cluster};
use read_replica_core::config::{parse_node, parse_options, ConfigValue};
use read_replica_core::insights::Trail;
use read_replica_core::node::StatementOptions;

#[test]
fn a_query_future_stays_small() {
    let fields = vec![
        ("host".to_string(), ConfigValue::String("127.0.0.1".into())),
        ("port".to_string(), ConfigValue::Number(5432.0)),
        ("user".to_string(), ConfigValue::String("u".into())),
        ("database".to_string(), ConfigValue::String("d".into())),
    ];
    let env = |_: &str| None;
    let primary = parse_node("primaryConfig", &fields, &env, None).unwrap();
    let options = parse_options(&vec![], &env).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _entered = runtime.enter();
    let cluster = Cluster::new(primary, vec![], options);
    let causal = Causal {
        strong: false,
        min_lsn: None,
        track_write: false,
    };
    let mut trail = Trail::default();
    let query = cluster.query(
        "SELECT 1",
        &[],
        None,
        causal,
        StatementOptions::default(),
        &mut trail,
    );
    let size = std::mem::size_of_val(&query);
    assert!(size < 8 * 1024, "a query's future takes {size} bytes");
    let checkout = cluster.node(0).connection_with(None);
    let size = std::mem::size_of_val(&checkout);
    assert!(size < 2 * 1024, "a checkout's future takes {size} bytes");
}
