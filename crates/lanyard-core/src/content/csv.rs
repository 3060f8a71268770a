//! The CSV of a list import, pure: which cell of which line names a member. One email per
//! line, in the first column (a quoted first cell is unquoted; what follows the first comma is
//! ignored); a header line `email` and empty lines are skipped. Lines end with LF, CRLF or a
//! lone CR (spreadsheets on macOS still write those). At most [`MAX_CSV_LINES`] lines.

/// Lines read from one import; a longer text is refused before anything is added.
pub const MAX_CSV_LINES: usize = 100_000;

/// The lines of `text`, each without its ending (LF, CRLF or CR); no empty line after a final
/// line break.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (line, after) = match rest.find(['\n', '\r']) {
            None => (rest, ""),
            Some(i) => {
                let (line, end) = rest.split_at(i);
                let after = end
                    .strip_prefix("\r\n")
                    .or_else(|| end.get(1..))
                    .unwrap_or_default();
                (line, after)
            }
        };
        rest = after;
        Some(line)
    })
}

/// The (1-based line number, first cell) of every line that names someone, or `None` when the
/// text has more than [`MAX_CSV_LINES`] lines.
pub fn member_cells(csv: &str) -> Option<Vec<(usize, &str)>> {
    let mut out = Vec::new();
    for (i, line) in lines(csv).enumerate() {
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

    /// Found by the `content_csv` fuzz target: `str::lines` ends lines at LF only, so a lone
    /// CR stayed inside a cell and a file with CR line endings read as one line.
    #[test]
    fn fuzz_regression_a_lone_carriage_return_ends_a_line() {
        assert_eq!(
            member_cells("email\r\0\0\0e").unwrap(),
            vec![(2, "\0\0\0e")]
        );
        assert_eq!(
            member_cells("email\rann@a.example\rbo@a.example\r\n\rcy@a.example\n").unwrap(),
            vec![
                (2, "ann@a.example"),
                (3, "bo@a.example"),
                (5, "cy@a.example")
            ]
        );
        assert_eq!(lines("a\n\nb\r\n").collect::<Vec<_>>(), vec!["a", "", "b"]);
        assert_eq!(lines("\r").collect::<Vec<_>>(), vec![""]);
    }

    #[test]
    fn overlong_imports_are_refused_not_cut() {
        let at_limit = "a@b.example\n".repeat(MAX_CSV_LINES);
        assert_eq!(member_cells(&at_limit).unwrap().len(), MAX_CSV_LINES);
        let over = format!("{at_limit}late@b.example");
        assert_eq!(member_cells(&over), None);
    }
}
