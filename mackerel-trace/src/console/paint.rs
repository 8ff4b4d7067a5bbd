//! ANSI styling for console lines, keeping count of the columns a line takes on screen.

use std::fmt::Write as _;

/// The styles the console uses: bold names, dim details, red errors, green OK, yellow warnings.
#[derive(Clone, Copy)]
pub(super) enum Paint {
    Plain,
    Bold,
    Dim,
    Red,
    Green,
    Yellow,
}

impl Paint {
    fn code(self) -> Option<&'static str> {
        match self {
            Paint::Plain => None,
            Paint::Bold => Some("\x1b[1m"),
            Paint::Dim => Some("\x1b[2m"),
            Paint::Red => Some("\x1b[31m"),
            Paint::Green => Some("\x1b[32m"),
            Paint::Yellow => Some("\x1b[33m"),
        }
    }
}

/// One output line, tracking its visible width apart from the escape codes.
pub(super) struct Line {
    /// The line so far, escape codes included.
    text: String,
    /// Columns the line takes on screen.
    pub(super) width: usize,
    colour: bool,
}

impl Line {
    pub(super) fn new(colour: bool) -> Self {
        Line {
            text: String::new(),
            width: 0,
            colour,
        }
    }

    /// Whether the line is painted with ANSI colour codes.
    pub(super) fn colour(&self) -> bool {
        self.colour
    }

    pub(super) fn push(&mut self, text: &str, paint: Paint) {
        if text.is_empty() {
            return;
        }
        self.width += text.chars().count();
        match paint.code().filter(|_| self.colour) {
            Some(code) => {
                let _ = write!(self.text, "{code}{text}\x1b[0m");
            }
            None => self.text.push_str(text),
        }
    }

    /// Appends the line, without trailing blanks, and a newline to `out`.
    pub(super) fn finish(self, out: &mut String) {
        out.push_str(self.text.trim_end());
        out.push('\n');
    }
}
