//! Sign-in throttling policy (NIST SP 800-63B §5.2.2), as pure functions of stored counters.
//!
//! Per account: five free failures, then each further attempt waits twice as long as the one
//! before (1 s, 2 s, 4 s … at most 15 minutes), so eleven guesses cannot fit in a minute and a
//! year cannot fit many thousand. Per client IP: at most 100 failures per 15 minutes, which stops
//! one address from spraying many accounts. Counters live in the store, shared by every node; a
//! success clears the account's counter. Unknown usernames are counted exactly like known ones.

use crate::clock::UnixTime;
use crate::store::FailureCount;

pub const ACCOUNT_SCOPE: &str = "account";
pub const IP_SCOPE: &str = "ip";
pub const ACCOUNT_FREE_FAILURES: i64 = 5;
pub const ACCOUNT_MAX_DELAY_SECS: i64 = 15 * 60;
/// An account's counter is forgotten a day after its first failure.
pub const ACCOUNT_WINDOW_SECS: i64 = 86_400;
pub const IP_MAX_FAILURES: i64 = 100;
pub const IP_WINDOW_SECS: i64 = 15 * 60;
/// Device user codes (RFC 8628 §5.1): at most 10 wrong codes per client IP per 15 minutes.
pub const DEVICE_CODE_SCOPE: &str = "device_code_ip";
pub const DEVICE_CODE_MAX_FAILURES: i64 = 10;
pub const DEVICE_CODE_WINDOW_SECS: i64 = 15 * 60;

/// Seconds until the account may try again, if it must wait.
pub fn account_retry_after(c: &FailureCount, now: UnixTime) -> Option<i64> {
    if now - c.window_start >= ACCOUNT_WINDOW_SECS || c.failures < ACCOUNT_FREE_FAILURES {
        return None;
    }
    let exponent = (c.failures - ACCOUNT_FREE_FAILURES).min(20);
    let delay = (1i64 << exponent).min(ACCOUNT_MAX_DELAY_SECS);
    let ready_at = c.last_failure_at + delay;
    (now < ready_at).then_some(ready_at - now)
}

/// Seconds until the client IP may try again, if it must wait.
pub fn ip_retry_after(c: &FailureCount, now: UnixTime) -> Option<i64> {
    if now - c.window_start >= IP_WINDOW_SECS || c.failures < IP_MAX_FAILURES {
        return None;
    }
    Some(c.window_start + IP_WINDOW_SECS - now)
}

/// Seconds until the client IP may enter another device user code, if it must wait.
pub fn device_code_retry_after(c: &FailureCount, now: UnixTime) -> Option<i64> {
    if now - c.window_start >= DEVICE_CODE_WINDOW_SECS || c.failures < DEVICE_CODE_MAX_FAILURES {
        return None;
    }
    Some(c.window_start + DEVICE_CODE_WINDOW_SECS - now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(failures: i64, window_start: i64, last: i64) -> FailureCount {
        FailureCount {
            failures,
            window_start,
            last_failure_at: last,
        }
    }

    #[test]
    fn account_backs_off_exponentially_after_five_failures() {
        assert_eq!(account_retry_after(&count(4, 0, 10), 10), None);
        assert_eq!(account_retry_after(&count(5, 0, 10), 10), Some(1));
        assert_eq!(account_retry_after(&count(5, 0, 10), 11), None);
        assert_eq!(account_retry_after(&count(8, 0, 10), 10), Some(8));
        assert_eq!(
            account_retry_after(&count(60, 0, 10), 10),
            Some(ACCOUNT_MAX_DELAY_SECS)
        );
        assert_eq!(
            account_retry_after(&count(60, 0, 10), ACCOUNT_WINDOW_SECS),
            None,
            "forgotten after a day"
        );
    }

    /// SECURITY.md W-BRUTE: eleven wrong passwords cannot fit in one minute.
    #[test]
    fn eleven_attempts_do_not_fit_in_a_minute() {
        let mut now = 0;
        let mut c = count(0, 0, 0);
        for _ in 0..11 {
            if let Some(wait) = account_retry_after(&c, now) {
                now += wait;
            }
            c = count(c.failures + 1, 0, now);
        }
        assert!(now > 60, "11 attempts took only {now} s");
    }

    #[test]
    fn ip_is_stopped_after_a_hundred_failures_until_the_window_ends() {
        assert_eq!(ip_retry_after(&count(99, 100, 200), 200), None);
        assert_eq!(ip_retry_after(&count(100, 100, 200), 200), Some(800));
        assert_eq!(
            ip_retry_after(&count(100, 100, 200), 100 + IP_WINDOW_SECS),
            None
        );
    }

    #[test]
    fn device_codes_stop_after_ten_failures_per_window() {
        assert_eq!(device_code_retry_after(&count(9, 0, 5), 5), None);
        assert_eq!(device_code_retry_after(&count(10, 0, 5), 5), Some(895));
        assert_eq!(device_code_retry_after(&count(10, 0, 5), 900), None);
    }
}
