//! Rule ids of the stateful detections.

use iamwatch_detect::builtin::CodeRule;

pub const BRUTE_FORCE: &str = "correlate.brute_force";
pub const SIGN_IN_AFTER_FAILURES: &str = "correlate.sign_in_after_failures";
pub const BURST: &str = "correlate.burst";
pub const PRIVILEGE_ESCALATION: &str = "correlate.privilege_escalation";
pub const USER_WITHOUT_MFA: &str = "correlate.user_without_mfa";
pub const OFF_HOURS: &str = "correlate.off_hours";
pub const FIRST_SEEN: &str = "correlate.first_seen";

/// Every one, for `iamwatch rules list`, as the rules written in code are listed.
pub const CATALOGUE: &[CodeRule] = &[
    CodeRule {
        id: BRUTE_FORCE,
        severity: "HIGH-CRITICAL",
        en: "Repeated failed console sign-ins for a user or from an address",
        ko: "한 사용자 또는 한 주소의 콘솔 로그인 반복 실패",
    },
    CodeRule {
        id: SIGN_IN_AFTER_FAILURES,
        severity: "HIGH-CRITICAL",
        en: "A console sign-in after repeated failures",
        ko: "반복 실패 후 콘솔 로그인 성공",
    },
    CodeRule {
        id: BURST,
        severity: "MEDIUM",
        en: "A burst of IAM changes by one principal",
        ko: "한 주체의 IAM 변경 급증",
    },
    CodeRule {
        id: PRIVILEGE_ESCALATION,
        severity: "CRITICAL",
        en: "A principal created or given credentials, and made an administrator, by one caller; or a caller making itself one",
        ko: "한 호출자가 주체를 만들거나 자격 증명을 주고 관리자로 만듦, 또는 자기 자신을 관리자로 만듦",
    },
    CodeRule {
        id: FIRST_SEEN,
        severity: "LOW-HIGH",
        en: "A principal signing in or changing IAM from a new address, a new country (with a GeoIP database) or with a new kind of client, after a week of learning",
        ko: "학습 기간(1주) 후 처음 보는 주소·국가(GeoIP 데이터베이스가 있을 때)·클라이언트에서의 로그인·IAM 변경",
    },
    CodeRule {
        id: OFF_HOURS,
        severity: "MEDIUM",
        en: "IAM changes by a person outside working hours (off unless [correlate.off_hours] says the hours)",
        ko: "업무 시간 외 사람의 IAM 변경 ([correlate.off_hours]로 시간을 정해야 켜짐)",
    },
    CodeRule {
        id: USER_WITHOUT_MFA,
        severity: "LOW-MEDIUM",
        en: "A new user still without an MFA device after the grace period",
        ko: "유예 기간이 지나도 MFA 장치가 없는 새 사용자",
    },
];

pub fn is_rule(id: &str) -> bool {
    CATALOGUE.iter().any(|rule| rule.id == id)
}
