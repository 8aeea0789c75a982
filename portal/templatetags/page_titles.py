"""`{% page_title %}{% block title %}{% endblock %}{% endpage_title %}`: "<page> · Clearfacts portal".

A template cannot ask whether a child filled a block, so the tag renders the block and leaves the
separator out when the page gave no title.
"""

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

register = template.Library()


class PageTitleNode(template.Node):
    def __init__(self, nodelist):
        self.nodelist = nodelist  # searched by {% extends %} for the blocks inside it

    def render(self, context):
        page = self.nodelist.render(context).strip()
        if not page:
            return conditional_escape(gettext("Clearfacts portal"))
        # Translators: the browser tab's title; %(page)s is the page's own title.
        return mark_safe(conditional_escape(gettext("%(page)s · Clearfacts portal")) % {"page": page})  # noqa: S308


@register.tag
def page_title(parser, token):
    nodelist = parser.parse(("endpage_title",))
    parser.delete_first_token()
    return PageTitleNode(nodelist)
