//! Tests that need Rust around a live server (run by `cargo pgrx test`). The user-facing
//! behaviour is tested by the SQL suites in tests/; these check what SQL cannot see.
use pgrx::prelude::*;

#[pg_test]
fn schema_has_every_table_of_the_spec() {
    let n = Spi::get_one::<i64>("SELECT count(*) FROM pg_tables WHERE schemaname = 'ml'").unwrap();
    assert_eq!(n, Some(32));
}
