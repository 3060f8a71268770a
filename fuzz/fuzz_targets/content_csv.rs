//! A list import's CSV (`member_cells`) on arbitrary text, with each cell then checked as the
//! import does (`validate::email` after trimming and case folding).
//!
//! Invariants: line numbers are 1-based, strictly increasing and within the text; each cell is
//! non-empty, trimmed, holds no comma or line break, and is what the first column of its line
//! says once quotes and blanks are dropped; a text over the line limit is refused whole.
#![no_main]

use lanyard_core::content::csv::{MAX_CSV_LINES, member_cells};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|csv: &str| {
    // Reference: LF, CRLF and a lone CR end a line.
    let text = csv.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.lines().collect();
    let Some(cells) = member_cells(csv) else {
        assert!(lines.len() > MAX_CSV_LINES);
        return;
    };
    assert!(lines.len() <= MAX_CSV_LINES);
    let mut last = 0;
    for (n, cell) in &cells {
        assert!(*n > last && *n <= lines.len());
        last = *n;
        assert!(!cell.is_empty() && cell.trim() == *cell);
        assert!(!cell.contains([',', '\n', '\r']));
        let line = lines[*n - 1];
        let first = line.split(',').next().unwrap_or_default();
        assert!(
            first.contains(cell),
            "{cell:?} is not in the first column of {line:?}"
        );
        let _ = lanyard_core::validate::email(&cell.to_lowercase());
    }
});
