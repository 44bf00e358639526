//! Work spread over the machine's cores, for the two steps whose cost grows with the number of
//! machines: formatting their configs and creating their files. Results keep the input's order,
//! so output stays deterministic.

/// Below this many items, one thread costs less than starting others.
const MIN_ITEMS: usize = 64;

/// The most threads used.
const MAX_THREADS: usize = 4;

/// `f` applied to every item, on up to four threads, in the items' order.
pub(crate) fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS);
    if threads == 1 || items.len() < MIN_ITEMS {
        return items.iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(items.len().div_ceil(threads))
            .map(|chunk| scope.spawn(move || chunk.iter().map(f).collect::<Vec<R>>()))
            .collect();
        // A worker only panics if `f` does; the panic goes on in the caller's thread.
        workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_order_of_the_items() {
        let items: Vec<u32> = (0..1_000).collect();
        assert_eq!(super::map(&items, |i| i * 2), items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(super::map(&items[..3], |i| i + 1), [1, 2, 3]);
    }
}
