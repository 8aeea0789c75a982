"""Lists read a status's or a type's label from the choices' enum (portal.choices.choice_label),
which must say exactly what Django's get_FOO_display() says, in the reader's language."""

import pytest
from django.utils import translation

from clearfacts_app.models import Document
from invoicing.models import Invoice, Submission
from portal.choices import choice_label


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
def test_each_label_is_the_one_django_gives_in_the_language(language):
    invoice, submission = Invoice(), Submission()
    with translation.override(language):
        for status in Invoice.Status.values:
            invoice.status = status
            assert invoice.status_label == invoice.get_status_display()
        for document_type in Invoice.DocumentType.values:
            invoice.document_type = document_type
            assert invoice.document_type_label == invoice.get_document_type_display()
        for state in Submission.State.values:
            submission.state = state
            assert choice_label(Submission.State, state) == submission.get_state_display()
        for status in Document.Status.values:
            document = Document(status=status)
            assert document.status_label == document.get_status_display()


def test_a_value_that_is_not_a_choice_is_shown_as_it_is():
    assert Invoice(status="lost-in-migration").status_label == "lost-in-migration"


def test_the_dutch_list_shows_dutch_labels():
    with translation.override("nl"):
        assert Invoice(status=Invoice.Status.DRAFT).status_label != "Draft"
