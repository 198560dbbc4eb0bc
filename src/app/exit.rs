//! Exit statuses, as documented in the README.

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The scan completed and every endpoint got a verdict; a comparison or check passed.
    Ok,
    /// A comparison or policy check failed.
    Fail,
    /// Usage or input error: bad arguments, an unreadable targets file, a bad target line.
    Input,
    /// The scan completed, but some endpoints were unreachable or incomplete; a policy check
    /// could not decide some cells.
    Undecided,
    /// Interrupted (Ctrl-C); what was done has been written.
    Interrupted,
}

impl Exit {
    pub fn code(self) -> i32 {
        match self {
            Exit::Ok => 0,
            Exit::Fail => 1,
            Exit::Input => 2,
            Exit::Undecided => 3,
            Exit::Interrupted => 130,
        }
    }
}
