//! What the two parsed languages, metric math and composite rules, have in common: a tree
//! that names other things (query ids, alarm names), which validation and evaluation follow.

use std::collections::BTreeSet;

pub(crate) trait Names {
    /// Adds every name the tree reads to `out`.
    fn collect(&self, out: &mut BTreeSet<String>);

    /// Every name the tree reads, sorted.
    fn names(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.collect(&mut out);
        out
    }
}
