"""The password policy: what a new password must satisfy, every problem reported at once."""

from __future__ import annotations

from typing import Final

MIN_LENGTH: Final = 10
MAX_LENGTH: Final = 256  # bounds the argon2 work a single request can ask for
# The local part must be this long to count: "jo@x.kr" should not ban every password with "jo" in it.
MIN_LOCAL_PART: Final = 3

# Lower-cased. Shorter ones already fail the length rule; they stay listed so the policy says every reason.
COMMON_PASSWORDS: Final = frozenset(
    {
        "123456",
        "123456789",
        "12345678",
        "password",
        "qwerty",
        "12345",
        "1234567",
        "111111",
        "123123",
        "abc123",
        "password1",
        "iloveyou",
        "admin",
        "welcome",
        "monkey",
        "dragon",
        "letmein",
        "football",
        "baseball",
        "sunshine",
        "princess",
        "qwerty123",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "q1w2e3r4t5",
        "zaq12wsx",
        "!@#$%^&*",
        "1234567890",
        "0987654321",
        "12345678910",
        "123456789a",
        "a123456789",
        "1234567890a",
        "1234qwer",
        "1234qwer!@",
        "qwer1234!@",
        "qwerty1234",
        "qwertyuiop",
        "asdfghjkl;",
        "asdfghjkl1",
        "zxcvbnm123",
        "1qaz2wsx3edc",
        "1qazxsw23edc",
        "qazwsxedc123",
        "q1w2e3r4t5y6",
        "password12",
        "password123",
        "password1234",
        "password!",
        "password1!",
        "passw0rd123",
        "p@ssw0rd123",
        "p@ssword123",
        "iloveyou12",
        "iloveyou123",
        "letmein123",
        "welcome123",
        "welcome1234",
        "admin12345",
        "admin123456",
        "administrator",
        "changeme123",
        "trustno1234",
        "football123",
        "baseball123",
        "sunshine123",
        "princess123",
        "superman123",
        "starwars123",
        "pokemon1234",
        "master12345",
        "michael1234",
        "computer123",
        "internet123",
        "whatever123",
        "abcdefghij",
        "abcdefg123",
        "abcd123456",
        "aaaaaaaaaa",
        "1111111111",
        "0000000000",
        "1212121212",
        "1122334455",
        "0123456789",
        "9876543210",
        "987654321a",
        "123123123a",
        "123qweasdzxc",
        "samsung1234",
        "samsung123!",
        "kstock12345",
        "korea12345",
        "seoul12345",
        "sarang1234",
        "saranghae1",
        "saranghae12",
        "gkdlfn1234",
        "dkssud1234",
        "tjdnf12345",
        "qwer1234qwer",
        "asdf1234asdf",
        "1q2w3e4r!@",
        "1q2w3e4r5t6y",
    }
)


def password_problems(password: str, email: str) -> list[str]:
    """Every rule ``password`` breaks for the account ``email`` (already normalised); empty when it passes."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"must have at most {MAX_LENGTH} characters")
    local_part = email.partition("@")[0].lower()
    if len(local_part) >= MIN_LOCAL_PART and local_part in password.lower():
        problems.append("must not contain the e-mail address's local part")
    if password.lower() in COMMON_PASSWORDS:
        problems.append("is too common")
    return problems
