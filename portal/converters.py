class CompanyNumberConverter:
    """A Belgian company number in a URL: ten digits, no dots, no prefix."""

    regex = r"[0-9]{10}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
