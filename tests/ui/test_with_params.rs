#[weft::test]
async fn takes_a_parameter(n: u32) {
    assert_eq!(n, 1);
}

fn main() {}
