"""getCompanyStatistics as the spec answers it: companies named BE0123123123, one entry each.

The page test talks to the sandbox. The sandbox answers a companyNumber with that company's entry
only, so the answer with several entries comes from a stand-in Clearfacts on its own socket.
"""

import datetime
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db.models import Sum
from django.test import override_settings
from graphql import print_ast

from accounts.models import User
from clearfacts_app import selectors
from clearfacts_app.client import OPERATIONS, SCHEMA
from clearfacts_app.models import Administration
from sandbox.clearfacts.models import Statistic
from sandbox.models import RequestLog, Service
from tests.personas import BAKKERIJ, BROUWERIJ, SOFIE
from tests.signed_in import sign_in_directly


def sandbox_counts(kind: str, month: datetime.date) -> int:
    rows = Statistic.objects.filter(company__company_number=BAKKERIJ, kind=kind, month=month)
    return rows.aggregate(total=Sum("value"))["total"] or 0


def test_the_statistics_tab_shows_the_administrations_own_counts(portal):
    browser = sign_in_directly(portal, SOFIE)

    page = browser.get(
        f"{portal.url}/administrations/{BAKKERIJ}/statistics/",
        params={"start": "2025-01", "end": "2025-03"},
        headers={"HX-Request": "true"},
        timeout=30,
    )

    shown = re.findall(r"<tr><td>(\d\d/\d{4})</td><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td></tr>", page.text)
    expected = [
        (
            f"{m:02d}/2025",
            str(sandbox_counts("AIR", datetime.date(2025, m, 1))),
            str(sandbox_counts("processing", datetime.date(2025, m, 1))),
        )
        for m in (1, 2, 3)
    ]
    assert shown == expected
    assert all(int(air) > 0 for _, air, _ in shown)


class StandInClearfacts(BaseHTTPRequestHandler):
    """Answers every query with statistics for two companies: another one first, then Bakkerij."""

    received: list[dict] = []

    def do_POST(self):
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

        def entry(number, value):
            return {"companyNumber": f"BE{number}", "items": [{"period": "01/2025", "value": value}]}

        statistics = [entry(BROUWERIJ, 999), entry(BAKKERIJ, 7)]
        body = json.dumps({"data": {"air": statistics, "processing": statistics}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def stand_in():
    StandInClearfacts.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandInClearfacts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/graphql"
    server.shutdown()
    server.server_close()


def test_the_portal_asks_by_be_vat_number_and_reads_its_own_entry(portal, stand_in):
    sign_in_directly(portal, SOFIE)
    user, administration = User.objects.get(), Administration.objects.get(company_number=BAKKERIJ)

    with override_settings(CLEARFACTS_GRAPHQL_URL=stand_in):
        months = selectors.statistics(
            user=user, administration=administration, start=datetime.date(2025, 1, 1), end=datetime.date(2025, 1, 31)
        )

    [request] = StandInClearfacts.received
    assert request["variables"]["companyNumber"] == f"BE{BAKKERIJ}"
    assert [(m.period, m.air, m.processing) for m in months] == [("01/2025", 7, 7)]


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("9999-12", "9999-12", "From"),
        ("0001-01", "0001-02", "From"),
        ("1999-12", "2000-02", "From"),
        ("2025-01", f"{datetime.date.today().year + 2}-01", "To"),
    ],
)
def test_a_period_outside_clearfacts_years_is_a_field_error_without_calling_clearfacts(portal, start, end, field):
    browser = sign_in_directly(portal, SOFIE, language="en")
    calls = RequestLog.objects.filter(service=Service.CLEARFACTS_GRAPHQL).count()

    page = browser.get(
        f"{portal.url}/administrations/{BAKKERIJ}/statistics/", params={"start": start, "end": end}, timeout=30
    )

    assert page.status_code == 200
    latest = datetime.date.today().year + 1
    assert f"{field}: Choose a month from January 2000 to December {latest}." in page.text
    assert "could not be reached" not in page.text
    assert RequestLog.objects.filter(service=Service.CLEARFACTS_GRAPHQL).count() == calls


def test_the_statistics_operation_declares_its_periods_as_the_documented_date_scalar():
    arguments = {name: str(a.type) for name, a in SCHEMA.query_type.fields["getCompanyStatistics"].args.items()}
    assert arguments == {
        "type": "String!",
        "startPeriod": "Date!",
        "endPeriod": "Date!",
        "companyNumber": "String",
        "invoiceType": "String",
        "worklist": "Boolean",
    }
    [operation] = OPERATIONS["Statistics"].definitions
    declared = {v.variable.name.value: print_ast(v.type) for v in operation.variable_definitions}
    assert declared == {"companyNumber": "String!", "startPeriod": "Date!", "endPeriod": "Date!"}
