//! What the load-harness minters share: mint `count` items on `threads` threads (each a
//! contiguous share, in order) and write them one a line with a prefix (`SAMLResponse=`,
//! `jwt=`), the shape `bench/signin-load/acs.lua` reads.

use std::error::Error as StdError;
use std::io::Write as _;
use std::path::Path;

pub type Res<T> = std::result::Result<T, Box<dyn StdError + Send + Sync>>;

/// Items `0..count`, made by `make` on `threads` threads, in order.
pub fn parallel<F>(count: usize, threads: usize, make: F) -> Res<Vec<String>>
where
    F: Fn(usize) -> Res<String> + Sync,
{
    let per = count.div_ceil(threads.max(1)).max(1);
    let chunks: Vec<Res<Vec<String>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|t| {
                let make = &make;
                scope.spawn(move || {
                    (t * per..((t + 1) * per).min(count))
                        .map(make)
                        .collect::<Res<Vec<String>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a minting thread failed".into()))
            })
            .collect()
    });
    let mut all = Vec::with_capacity(count);
    for chunk in chunks {
        all.extend(chunk?);
    }
    Ok(all)
}

/// Writes `prefix` + item, one a line.
pub fn write_lines(path: &Path, prefix: &str, items: &[String]) -> Res<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for item in items {
        writeln!(out, "{prefix}{item}")?;
    }
    out.flush()?;
    Ok(())
}
