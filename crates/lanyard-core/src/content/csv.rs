//! The CSV of a list import, pure: which cell of which line names a member. One email per
//! line, in the first column (a quoted first cell is unquoted; what follows the first comma is
//! ignored); a header line `email` and empty lines are skipped. At most [`MAX_CSV_LINES`] lines.

/// Lines read from one import; a longer text is refused before anything is added.
pub const MAX_CSV_LINES: usize = 100_000;

/// The (1-based line number, first cell) of every line that names someone, or `None` when the
/// text has more than [`MAX_CSV_LINES`] lines.
pub fn member_cells(csv: &str) -> Option<Vec<(usize, &str)>> {
    let mut out = Vec::new();
    for (i, line) in csv.lines().enumerate() {
        if i >= MAX_CSV_LINES {
            return None;
        }
        let cell = line
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches('"')
            .trim();
        if cell.is_empty() || (i == 0 && cell.eq_ignore_ascii_case("email")) {
            continue;
        }
        out.push((i + 1, cell));
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn first_cells_with_line_numbers() {
        let csv = "Email,Name\r\nann@a.example,Ann\n\n\"bo@a.example\",\"Bo, B\"\n  cy@a.example  \nemail\n";
        assert_eq!(
            member_cells(csv).unwrap(),
            vec![
                (2, "ann@a.example"),
                (4, "bo@a.example"),
                (5, "cy@a.example"),
                (6, "email"),
            ]
        );
        assert_eq!(member_cells("").unwrap(), Vec::<(usize, &str)>::new());
        assert_eq!(
            member_cells("\"\"\n,x").unwrap(),
            Vec::<(usize, &str)>::new()
        );
    }

    #[test]
    fn overlong_imports_are_refused_not_cut() {
        let at_limit = "a@b.example\n".repeat(MAX_CSV_LINES);
        assert_eq!(member_cells(&at_limit).unwrap().len(), MAX_CSV_LINES);
        let over = format!("{at_limit}late@b.example");
        assert_eq!(member_cells(&over), None);
    }
}
