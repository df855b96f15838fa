#[weft::test(worker_threads = 2)]
fn not_async() {}

fn main() {}
