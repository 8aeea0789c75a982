"""A paginator for lists that grow for years: it counts the rows only up to a bound."""

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.utils.functional import cached_property

COUNT_BOUND = 1000
# Past the bound, a page number above this is taken as beyond the end (an offset the database
# could not even hold comes from an edited link, not from the list).
LAST_PAGE_READ = 100_000


class BoundedPage(Page):
    def __init__(self, object_list, number, paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more


class BoundedPaginator(Paginator):
    """Django's Paginator while the list has at most `bound` rows. Past that, it never counts the
    whole list (years of documents, on every request): the number of pages is unknown
    (`known_pages` is None, so the links say "Page 3", not "of 40"), each page is read by its
    offset with one row more, and "Next" is offered while that row exists."""

    def __init__(self, object_list, per_page, *, bound: int | None = None):
        super().__init__(object_list, per_page)
        self.bound = COUNT_BOUND if bound is None else bound

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.bound + 1].count()

    @property
    def known_pages(self) -> int | None:
        return self.num_pages if self.count <= self.bound else None

    def validate_number(self, number) -> int:
        if self.known_pages is not None:
            return super().validate_number(number)
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        if number > LAST_PAGE_READ:
            raise EmptyPage(self.error_messages["no_results"])
        return number

    def page(self, number) -> Page:
        if self.known_pages is not None:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows:
            raise EmptyPage(self.error_messages["no_results"])
        return BoundedPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)

    def get_page(self, number) -> Page:
        try:
            return super().get_page(number)
        except EmptyPage:  # past the bound, a page beyond the end is only found empty when read
            return self.page(self.num_pages)
