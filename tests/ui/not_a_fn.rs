#[weft::main]
struct NotAFunction;

fn main() {}
