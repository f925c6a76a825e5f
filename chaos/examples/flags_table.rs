//! Prints the `CHAOS_*` flag table for chaos/README.md: `cargo run -p chaos --example flags_table`.
fn main() {
    print!("{}", chaos::flags::markdown_table());
}
